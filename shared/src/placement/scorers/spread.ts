import { resolveAttribute, type AttributeInfo } from "../../constraints/attributes";
import { asText } from "../../constraints/compare";
import { ConstraintProblem, problemsError } from "../../constraints/problems";
import type { Spread } from "../../constraints/ast";
import type { NodeView } from "../node-view";
import type { NodeSet, ScorerPlugin } from "../plugin";

interface PreparedSpread {
  attribute: AttributeInfo;
  weight: number;
  score(value: string | undefined): number;
}

/**
 * Spread replicas over the values of an attribute (Swarm `spread`, Nomad `spread`). Counts the service's replicas
 * per value across the whole snapshot. Without targets: the emptiest values score 100, the fullest 0. With targets:
 * a value below its desired share scores above 50, one above it below 50. Nodes lacking the attribute score 0.
 */
function prepareSpread(
  spread: Spread,
  running: NodeSet,
  feasible: NodeSet,
  attribute: AttributeInfo,
): PreparedSpread {
  const valueOf = (n: NodeView): string | undefined => {
    const v = attribute.read(n);
    return v === undefined ? undefined : asText(v);
  };
  const counts = new Map<string, number>();
  let total = 0;
  running.forEach((n) => {
    const c = n.replicasOfService;
    const v = valueOf(n);
    if (v === undefined) return;
    counts.set(v, (counts.get(v) ?? 0) + c);
    total += c;
  });
  if (spread.targets.length === 0) {
    // Only values a replica could go to matter for "emptiest".
    let min = Infinity;
    let max = -Infinity;
    feasible.forEach((n) => {
      const v = valueOf(n);
      if (v === undefined) return;
      const c = counts.get(v) ?? 0;
      if (c < min) min = c;
      if (c > max) max = c;
    });
    return {
      attribute,
      weight: spread.weight,
      score: (v) => {
        if (v === undefined) return 0;
        if (max === min) return 100;
        return (100 * (max - (counts.get(v) ?? 0))) / (max - min);
      },
    };
  }
  const desiredShare = new Map(spread.targets.map((t) => [t.value, t.percent / 100]));
  const listedShare = spread.targets.reduce((s, t) => s + t.percent / 100, 0);
  const unlisted = new Set<string>();
  feasible.forEach((n) => {
    const v = valueOf(n);
    if (v !== undefined && !desiredShare.has(v)) unlisted.add(v);
  });
  const restShare = unlisted.size > 0 ? (1 - listedShare) / unlisted.size : 0;
  const after = total + 1;
  return {
    attribute,
    weight: spread.weight,
    score: (v) => {
      if (v === undefined) return 0;
      const desired = (desiredShare.get(v) ?? restShare) * after;
      const current = counts.get(v) ?? 0;
      if (desired <= 0) return 0;
      const boost = Math.max(-1, Math.min(1, (desired - current) / desired));
      return 50 * (1 + boost);
    },
  };
}

export const spreadScorer: ScorerPlugin = {
  name: "spread",
  defaultWeight: 50,
  prepare: (ctx, feasible) => {
    if (ctx.spec.spread.length === 0) return undefined;
    const spreads = ctx.spec.spread.map((s, i) => {
      try {
        return prepareSpread(s, ctx.nodesRunningService(), feasible, resolveAttribute(s.attribute));
      } catch (e) {
        if (!(e instanceof ConstraintProblem)) throw e;
        throw problemsError(`service ${ctx.spec.name}`, [
          { path: ["spread", i, "attribute"], message: e.message },
        ]);
      }
    });
    const totalWeight = spreads.reduce((s, p) => s + p.weight, 0);
    return {
      score: (node) => {
        let sum = 0;
        for (const s of spreads) {
          const v = s.attribute.read(node);
          sum += s.weight * s.score(v === undefined ? undefined : asText(v));
        }
        return sum / totalWeight;
      },
    };
  },
};
