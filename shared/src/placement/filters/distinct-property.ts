import { resolveAttribute, type AttributeInfo } from "../../constraints/attributes";
import { asText } from "../../constraints/compare";
import { ConstraintProblem, problemsError } from "../../constraints/problems";
import type { NodeView } from "../node-view";
import type { FilterPlugin, Predicate } from "../plugin";

function propertyOf(attribute: AttributeInfo, node: NodeView): string | undefined {
  const v = attribute.read(node);
  return v === undefined ? undefined : asText(v);
}

/** Nomad `distinct_property`: at most `limit` replicas of the service per value of an attribute (cell, line, rack). */
export const distinctPropertyFilter: FilterPlugin = {
  name: "distinct-property",
  order: 30,
  prepare: (ctx) => {
    return ctx.spec.constraints.distinctProperties.map((rule, i): Predicate => {
      let attribute: AttributeInfo;
      try {
        attribute = resolveAttribute(rule.attribute);
      } catch (e) {
        if (!(e instanceof ConstraintProblem)) throw e;
        throw problemsError(`service ${ctx.spec.name}`, [
          { path: ["constraints", "distinctProperties", i, "attribute"], message: e.message },
        ]);
      }
      // Cluster-wide: replicas on every node count, including nodes filtered out for other reasons.
      const used = new Map<string, number>();
      ctx.nodesRunningService().forEach((node) => {
        const n = node.replicasOfService;
        const value = propertyOf(attribute, node);
        if (value !== undefined) used.set(value, (used.get(value) ?? 0) + n);
      });
      return {
        text: `at most ${rule.limit} replica${rule.limit === 1 ? "" : "s"} per ${rule.attribute}`,
        cost: 2,
        test: (node) => {
          const value = propertyOf(attribute, node);
          return value !== undefined && (used.get(value) ?? 0) < rule.limit;
        },
        explain: (node) => {
          const value = propertyOf(attribute, node);
          return value === undefined
            ? { seen: `no ${rule.attribute}`, reason: "missing" }
            : { seen: `${value} with ${used.get(value) ?? 0} already`, reason: "replica_limit" };
        },
      };
    });
  },
};
