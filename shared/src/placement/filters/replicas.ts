import type { FilterPlugin } from "../plugin";

/** Per-node replica cap: `maxPerNode` (Swarm max_replicas), `max_per_node` constraint, Nomad `distinct_hosts`. */
export const replicasPerNodeFilter: FilterPlugin = {
  name: "replicas-per-node",
  order: 20,
  prepare: (ctx) => {
    const { spec } = ctx;
    const limits = [
      spec.maxPerNode,
      spec.constraints.maxPerNode,
      spec.constraints.distinctHosts ? 1 : undefined,
    ];
    const defined = limits.filter((l): l is number => l !== undefined);
    if (defined.length === 0) return [];
    const limit = Math.min(...defined);
    return [
      {
        text: `at most ${limit} replica${limit === 1 ? "" : "s"} of ${spec.name} per node`,
        cost: 1,
        test: (node) => node.replicasOfService < limit,
        explain: (node) => ({ seen: `${node.replicasOfService} already`, reason: "replica_limit" }),
      },
    ];
  },
};
