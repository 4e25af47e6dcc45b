import { equalityTest } from "../compare";
import { expectShape, type OperatorPlugin } from "./operator";

/** TOSCA `equal`, Swarm `==`. On a set attribute: the set contains the value. */
export const equalOperator: OperatorPlugin = {
  name: "equal",
  aliases: ["==", "=", "eq", "is"],
  symbol: "==",
  shape: "scalar",
  cost: 1,
  whenMissing: false,
  compile: (value, attribute) => equalityTest(attribute, expectShape(value, "scalar").value),
};

/** Swarm `!=`. Holds on a node without the attribute, as in Swarm. */
export const notEqualOperator: OperatorPlugin = {
  name: "not_equal",
  aliases: ["!=", "ne", "not"],
  symbol: "!=",
  shape: "scalar",
  cost: 1,
  whenMissing: true,
  compile: (value, attribute) => {
    const equal = equalityTest(attribute, expectShape(value, "scalar").value);
    return (v) => !equal(v);
  },
};
