import { asText, scalarText } from "../compare";
import { ConstraintProblem } from "../problems";
import { expectShape, type OperatorPlugin } from "./operator";

function compileRegExp(source: string, anchored: boolean): RegExp {
  try {
    return new RegExp(anchored ? `^(?:${source})$` : source, "u");
  } catch (e) {
    throw new ConstraintProblem(
      `invalid regular expression ${JSON.stringify(source)}: ${(e as Error).message}`,
    );
  }
}

/** TOSCA `pattern`: the whole value must match the expression. */
export const patternOperator: OperatorPlugin = {
  name: "pattern",
  aliases: ["matches"],
  shape: "scalar",
  cost: 5,
  whenMissing: false,
  compile: (value) => {
    const re = compileRegExp(scalarText(expectShape(value, "scalar").value), true);
    return (v) => re.test(asText(v));
  },
};

/** Nomad `regexp`, Swarm-style `=~`: the expression matches somewhere in the value. */
export const regexpOperator: OperatorPlugin = {
  name: "regexp",
  aliases: ["=~", "regex"],
  symbol: "=~",
  shape: "scalar",
  cost: 5,
  whenMissing: false,
  compile: (value) => {
    const re = compileRegExp(scalarText(expectShape(value, "scalar").value), false);
    return (v) => re.test(asText(v));
  },
};
