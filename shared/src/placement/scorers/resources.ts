import type { ScorerPlugin } from "../plugin";

/**
 * Least-allocated: prefer the node with the most memory and CPU left after this replica, so load spreads
 * over the fog nodes (small boxes suffer from crowding more than from fragmentation).
 */
export const resourcesScorer: ScorerPlugin = {
  name: "resources",
  defaultWeight: 10,
  prepare: (ctx) => {
    const wantCpus = ctx.spec.resources.cpus ?? 0;
    const wantMemory = ctx.spec.resources.memoryBytes ?? 0;
    return {
      score: (node) => {
        const r = node.caps.resources;
        const memory =
          r.memory.totalBytes > 0 ? (node.freeMemoryBytes - wantMemory) / r.memory.totalBytes : 0;
        const cpu = r.cpu.cores > 0 ? (node.freeCpus - wantCpus) / r.cpu.cores : 0;
        return 50 * (Math.max(0, memory) + Math.max(0, cpu));
      },
    };
  },
};
