import { compileTerm } from "../../constraints/compile";
import { ConstraintProblem, problemsError } from "../../constraints/problems";
import type { ScorerPlugin } from "../plugin";

/**
 * Soft preferences (Nomad affinities): the weighted share of preferences a node meets, from -1 (meets every
 * negative one) to 1 (every positive one), mapped onto 0..100. As in Nomad, weights are summed by magnitude.
 */
export const preferencesScorer: ScorerPlugin = {
  name: "preferences",
  defaultWeight: 50,
  prepare: (ctx) => {
    const preferences = ctx.spec.preferences;
    if (preferences.length === 0) return undefined;
    const compiled = preferences.map((p, i) => {
      try {
        return { test: compileTerm(p.term).test, weight: p.weight };
      } catch (e) {
        if (!(e instanceof ConstraintProblem)) throw e;
        throw problemsError(`service ${ctx.spec.name}`, [
          { path: ["preferences", i, "term"], message: e.message },
        ]);
      }
    });
    const totalWeight = compiled.reduce((s, p) => s + Math.abs(p.weight), 0);
    return {
      score: (node) => {
        let sum = 0;
        for (const p of compiled) if (p.test(node)) sum += p.weight;
        return 50 * (1 + sum / totalWeight);
      },
    };
  },
};
