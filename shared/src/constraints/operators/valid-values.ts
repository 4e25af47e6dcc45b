import { equalityTest, scalarText } from "../compare";
import { expectShape, type OperatorPlugin } from "./operator";

/** TOSCA `valid_values: [a, b]`: the attribute equals one of them (Kubernetes `In`). */
export const validValuesOperator: OperatorPlugin = {
  name: "valid_values",
  aliases: ["in", "one_of"],
  shape: "list",
  cost: 2,
  whenMissing: false,
  compile: (value, attribute) => {
    const values = expectShape(value, "list").values;
    if (attribute.kind === "string") {
      // Plain text: one set lookup instead of a test per listed value.
      const canonical = attribute.canonicalValue;
      const allowed = new Set(values.map((v) => (canonical ? canonical(scalarText(v)) : scalarText(v))));
      return (v) => typeof v === "string" && allowed.has(v);
    }
    const tests = values.map((v) => equalityTest(attribute, v));
    return (v) => tests.some((t) => t(v));
  },
};
