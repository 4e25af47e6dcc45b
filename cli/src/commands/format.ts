import { formatBytes, type PlacementDecision } from "@openiotfog/shared";
import type { ExplainResult, ReplicaDecision } from "@openiotfog/vim-driver";

/** Left-aligned columns separated by two spaces; the header in upper case, like `docker ps`. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  return [line(headers.map((h) => h.toUpperCase())), ...rows.map(line)].join("\n") + "\n";
}

export function bytes(n: number | undefined): string {
  return n === undefined ? "-" : formatBytes(Math.max(0, Math.round(n)));
}

export function cores(n: number | undefined): string {
  if (n === undefined) return "-";
  return Number.isInteger(n) ? String(n) : n.toFixed(2).replace(/0+$/, "");
}

/** `[##########..........]  50%  12MiB/24MiB` */
export function progressBar(done: number, total: number, width = 24): string {
  const ratio = total > 0 ? Math.min(1, done / total) : 0;
  const filled = Math.round(ratio * width);
  const pct = `${Math.round(ratio * 100)}%`.padStart(4);
  return `[${"#".repeat(filled)}${".".repeat(width - filled)}] ${pct}  ${bytes(done)}/${bytes(total)}`;
}

export function ago(epochMs: number, now = Date.now()): string {
  const s = Math.max(0, Math.round((now - epochMs) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.round(s / 60)}m ago`;
  return `${Math.round(s / 3600)}h ago`;
}

/** One replica's decision: where it goes and why, or every failed predicate on every node. */
export function describeDecision(d: ReplicaDecision, indent = ""): string {
  const who = `${d.service}#${d.replica}`;
  const decision: PlacementDecision = d.decision;
  const e = decision.explanation;
  const out: string[] = [];
  if (decision.ok) {
    out.push(`${indent}✓ ${who} → ${decision.nodeId} (score ${decision.finalScore.toFixed(1)})`);
    for (const n of e.nodes) {
      if (n.feasible) {
        const scores = (n.scores ?? [])
          .map((s) => `${s.scorer} ${s.score.toFixed(0)}×${s.weight}`)
          .join(", ");
        const mark = n.nodeId === decision.nodeId ? "*" : " ";
        out.push(
          `${indent}   ${mark} ${n.nodeId}: feasible, score ${n.finalScore?.toFixed(1) ?? "-"}${scores ? ` (${scores})` : ""}`,
        );
      } else {
        out.push(`${indent}     ${n.nodeId}: rejected`);
        for (const f of n.failures) out.push(`${indent}       ✗ ${failure(f)}`);
      }
    }
  } else {
    out.push(`${indent}✗ ${who}: ${decision.message}`);
    out.push(`${indent}   ${e.nodesEvaluated} node(s) evaluated, ${e.nodesFeasible} feasible`);
    for (const n of e.nodes) {
      out.push(`${indent}   node ${n.nodeId}${n.hostname !== n.nodeId ? ` (${n.hostname})` : ""}:`);
      if (n.failures.length === 0) out.push(`${indent}     (feasible, but another replica took it)`);
      for (const f of n.failures) out.push(`${indent}     ✗ ${failure(f)}`);
    }
  }
  return out.join("\n");
}

function failure(f: { filter: string; predicate: string; seen: string }): string {
  return `[${f.filter}] ${f.predicate}  (seen: ${f.seen})`;
}

export function describeExplain(r: ExplainResult): string {
  const out: string[] = [
    `${r.name}: ${r.feasible ? "every replica can be placed" : "cannot be placed"}`,
    ...r.decisions.map((d) => describeDecision(d, "  ")),
  ];
  for (const s of r.scenarios ?? []) {
    out.push("", `what if: ${s.name}: ${s.feasible ? "still placeable" : "NOT placeable"}`);
    for (const d of s.decisions) out.push(describeDecision(d, "  "));
  }
  return `${out.join("\n")}\n`;
}
