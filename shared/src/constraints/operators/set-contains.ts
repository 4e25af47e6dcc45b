import { asSet, scalarText } from "../compare";
import { expectShape, type OperatorPlugin } from "./operator";

/** The attribute (a set, or a comma-separated text) holds every / any of the listed values. */
function setOperator(name: string, aliases: string[], quantifier: "every" | "some"): OperatorPlugin {
  return {
    name,
    aliases,
    shape: "list",
    cost: 3,
    whenMissing: false,
    compile: (value) => {
      const wanted = expectShape(value, "list").values.map(scalarText);
      return (v) => {
        const have = asSet(v);
        return quantifier === "every"
          ? wanted.every((w) => have.includes(w))
          : wanted.some((w) => have.includes(w));
      };
    },
  };
}

/** Nomad `set_contains`: every listed value is in the attribute's set. */
export const setContainsOperator = setOperator("set_contains", ["set_contains_all", "contains"], "every");
/** Nomad `set_contains_any`: at least one listed value is. */
export const setContainsAnyOperator = setOperator("set_contains_any", ["contains_any"], "some");
