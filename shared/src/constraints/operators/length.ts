import { asText } from "../compare";
import { expectShape, type OperatorPlugin } from "./operator";

/** Length of a text attribute, or number of elements of a set. */
function lengthOf(v: unknown): number {
  return Array.isArray(v) ? v.length : asText(v as string).length;
}

function lengthOperator(name: string, holds: (length: number, limit: number) => boolean): OperatorPlugin {
  return {
    name,
    aliases: [],
    shape: "count",
    cost: 1,
    whenMissing: false,
    compile: (value) => {
      const limit = expectShape(value, "count").count;
      return (v) => holds(lengthOf(v), limit);
    },
  };
}

export const lengthEqualOperator = lengthOperator("length", (l, n) => l === n);
export const minLengthOperator = lengthOperator("min_length", (l, n) => l >= n);
export const maxLengthOperator = lengthOperator("max_length", (l, n) => l <= n);
