import { compileRequirement } from "../../constraints/compile";
import { ConstraintProblem, problemsError, type InputProblem } from "../../constraints/problems";
import type { FilterPlugin, Predicate } from "../plugin";

/** The hard constraints of the service (`node.labels.zone == line-1`, OR groups, ...), one predicate each. */
export const constraintsFilter: FilterPlugin = {
  name: "constraints",
  order: 10,
  prepare: (ctx) => {
    const problems: InputProblem[] = [];
    const predicates: Predicate[] = [];
    ctx.spec.constraints.requirements.forEach((requirement, i) => {
      try {
        const compiled = compileRequirement(requirement);
        predicates.push({
          text: compiled.text,
          cost: compiled.cost,
          test: compiled.test,
          explain: (node) => ({ seen: compiled.seen(node), reason: "mismatch" }),
        });
      } catch (e) {
        if (!(e instanceof ConstraintProblem)) throw e;
        problems.push({ path: ["constraints", "requirements", i], message: e.message });
      }
    });
    // The AST may come off the wire unchecked; refuse it whole rather than place on half the constraints.
    if (problems.length > 0) throw problemsError(`service ${ctx.spec.name}`, problems);
    return predicates;
  },
};
