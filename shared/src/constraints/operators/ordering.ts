import { orderingComparator } from "../compare";
import { expectShape, type OperatorPlugin } from "./operator";

/** TOSCA `greater_than` & co.; sizes, frequencies and versions compare by value, other text lexically. */
function ordering(
  name: string,
  symbol: string,
  aliases: string[],
  holds: (c: number) => boolean,
): OperatorPlugin {
  return {
    name,
    aliases: [symbol, ...aliases],
    symbol,
    shape: "scalar",
    cost: 2,
    whenMissing: false,
    compile: (value, attribute) => {
      const compare = orderingComparator(attribute, expectShape(value, "scalar").value);
      return (v) => {
        const c = compare(v);
        return c !== undefined && holds(c);
      };
    },
  };
}

export const greaterThanOperator = ordering("greater_than", ">", ["gt"], (c) => c > 0);
export const greaterOrEqualOperator = ordering("greater_or_equal", ">=", ["ge", "gte"], (c) => c >= 0);
export const lessThanOperator = ordering("less_than", "<", ["lt"], (c) => c < 0);
export const lessOrEqualOperator = ordering("less_or_equal", "<=", ["le", "lte"], (c) => c <= 0);
