import type { ScorerPlugin } from "../plugin";

/** Nomad's job anti-affinity: a node already running replicas of this service scores lower (100, 50, 33, ...). */
export const replicaAntiAffinityScorer: ScorerPlugin = {
  name: "replica-anti-affinity",
  defaultWeight: 20,
  prepare: (ctx, feasible) => {
    if (!feasible.some((n) => n.replicasOfService > 0)) return undefined;
    return { score: (node) => 100 / (1 + node.replicasOfService) };
  },
};
