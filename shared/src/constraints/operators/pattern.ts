import { compileLinearRegExp, PatternSyntaxError, type LinearRegExp } from "../../linear-regexp";
import { asText, scalarText } from "../compare";
import { ConstraintProblem } from "../problems";
import { expectShape, type OperatorPlugin } from "./operator";

/** Constraints come from remote callers: their expressions run on the linear-time engine (RE2). */
function compileRegExp(source: string): LinearRegExp {
  try {
    return compileLinearRegExp(source);
  } catch (e) {
    if (e instanceof PatternSyntaxError) throw new ConstraintProblem(e.message);
    throw e;
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
    const re = compileRegExp(scalarText(expectShape(value, "scalar").value));
    return (v) => re.matches(asText(v));
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
    const re = compileRegExp(scalarText(expectShape(value, "scalar").value));
    return (v) => re.test(asText(v));
  },
};
