import type { Predicate } from "./plugin";
import type { NodeExplanation } from "./types";

/** `pi-01, pi-02, pi-03 and 3 more`: keeps operator sentences readable on big fleets. */
export function listNodes(ids: readonly string[], max = 3): string {
  if (ids.length <= max) return ids.join(", ");
  return `${ids.slice(0, max).join(", ")} and ${ids.length - max} more`;
}

/** Default clause: `memory >= 2GiB (pi-01 has 1.8GiB free; pi-03 has 1GiB free)`, grouping equal values. */
export function defaultSummary(
  text: string,
  rejected: ReadonlyArray<{ nodeId: string; seen: string }>,
  max = 3,
): string {
  const bySeen = new Map<string, string[]>();
  for (const r of rejected) {
    const ids = bySeen.get(r.seen);
    if (ids === undefined) bySeen.set(r.seen, [r.nodeId]);
    else ids.push(r.nodeId);
  }
  const parts = [...bySeen.entries()]
    .slice(0, max)
    .map(([seen, ids]) => `${listNodes(ids)} ${ids.length === 1 ? "has" : "have"} ${seen}`);
  if (bySeen.size > max) parts.push(`${bySeen.size - max} other values`);
  return `${text} (${parts.join("; ")})`;
}

/**
 * The operator sentence for an unsatisfiable request:
 * `no node satisfies: device class zigbee (0 of 3 nodes have a free one; ...); memory >= 2GiB (pi-01 has 1.8GiB free)`.
 * One clause per predicate that rejected at least one node, in pipeline order.
 */
export function failureSentence(
  serviceName: string,
  predicates: ReadonlyArray<{ filter: string; predicate: Predicate }>,
  nodes: readonly NodeExplanation[],
): string {
  if (nodes.length === 0) return `no node satisfies: no nodes are known (service ${serviceName})`;
  const clauses: string[] = [];
  for (const { filter, predicate } of predicates) {
    const rejected: Array<{ nodeId: string; seen: string; reason: string }> = [];
    for (const node of nodes) {
      for (const f of node.failures) {
        if (f.filter === filter && f.predicate === predicate.text)
          rejected.push({ nodeId: node.nodeId, seen: f.seen, reason: f.reason });
      }
    }
    if (rejected.length === 0) continue;
    clauses.push(
      predicate.summarise
        ? predicate.summarise(rejected, nodes.length)
        : defaultSummary(predicate.text, rejected),
    );
  }
  return `no node satisfies: ${clauses.join("; ")}`;
}
