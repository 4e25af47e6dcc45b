import type { FilterPlugin, Predicate } from "../plugin";
import { listNodes } from "../explain";

/** Offline nodes cannot take work; excluded nodes (e.g. the one a replica moves away from) must not. */
export const availabilityFilter: FilterPlugin = {
  name: "availability",
  order: 0,
  prepare: (ctx) => {
    const predicates: Predicate[] = [
      {
        text: "node online",
        cost: 0,
        test: (node) => node.state.online,
        explain: () => ({ seen: "offline", reason: "offline" }),
        summarise: (rejected) =>
          `node online (${listNodes(rejected.map((r) => r.nodeId))} ${rejected.length === 1 ? "is" : "are"} offline)`,
      },
    ];
    const excluded = new Set(ctx.request.excludeNodes ?? []);
    if (excluded.size > 0) {
      predicates.push({
        text: "node not excluded",
        cost: 0,
        test: (node) => !excluded.has(node.id),
        explain: () => ({ seen: "excluded by the request", reason: "excluded" }),
        summarise: (rejected) =>
          `node not excluded (${listNodes(rejected.map((r) => r.nodeId))} excluded by the request)`,
      });
    }
    return predicates;
  },
};
