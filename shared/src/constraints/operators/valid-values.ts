import { equalityTest } from "../compare";
import { expectShape, type OperatorPlugin } from "./operator";

/** TOSCA `valid_values: [a, b]`: the attribute equals one of them (Kubernetes `In`). */
export const validValuesOperator: OperatorPlugin = {
  name: "valid_values",
  aliases: ["in", "one_of"],
  shape: "list",
  cost: 2,
  whenMissing: false,
  compile: (value, attribute) => {
    const tests = expectShape(value, "list").values.map((v) => equalityTest(attribute, v));
    return (v) => tests.some((t) => t(v));
  },
};
