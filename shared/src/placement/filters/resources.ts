import { formatBytes } from "../../units";
import type { FilterPlugin, Predicate } from "../plugin";

function cores(n: number): string {
  return `${Math.round(n * 100) / 100} core${n === 1 ? "" : "s"}`;
}

/** CPU, memory and disk the service reserves, against what is free after accounting (see NodeView). */
export const resourcesFilter: FilterPlugin = {
  name: "resources",
  order: 40,
  prepare: (ctx) => {
    const { cpus, memoryBytes, diskBytes } = ctx.spec.resources;
    const predicates: Predicate[] = [];
    if (memoryBytes !== undefined) {
      predicates.push({
        text: `memory >= ${formatBytes(memoryBytes)}`,
        cost: 1,
        test: (node) => node.freeMemoryBytes >= memoryBytes,
        explain: (node) => ({ seen: `${formatBytes(node.freeMemoryBytes)} free`, reason: "insufficient" }),
      });
    }
    if (cpus !== undefined) {
      predicates.push({
        text: `cpu >= ${cores(cpus)}`,
        cost: 1,
        test: (node) => node.freeCpus >= cpus,
        explain: (node) => ({ seen: `${cores(node.freeCpus)} free`, reason: "insufficient" }),
      });
    }
    if (diskBytes !== undefined) {
      predicates.push({
        text: `disk >= ${formatBytes(diskBytes)}`,
        cost: 1,
        test: (node) => node.freeDiskBytes >= diskBytes,
        explain: (node) => ({ seen: `${formatBytes(node.freeDiskBytes)} free`, reason: "insufficient" }),
      });
    }
    return predicates;
  },
};
