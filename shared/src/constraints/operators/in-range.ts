import { constantAsNodeValue, orderingComparator } from "../compare";
import { ConstraintProblem } from "../problems";
import { expectShape, type OperatorPlugin } from "./operator";

/** TOSCA `in_range: [low, high]`, both ends inclusive. */
export const inRangeOperator: OperatorPlugin = {
  name: "in_range",
  aliases: ["between"],
  shape: "range",
  cost: 3,
  whenMissing: false,
  compile: (value, attribute) => {
    const { low, high } = expectShape(value, "range");
    const fromLow = orderingComparator(attribute, low);
    const fromHigh = orderingComparator(attribute, high);
    // Reject an empty range up front: it would silently match nothing.
    const lowVsHigh = fromLow(constantAsNodeValue(attribute, high));
    if (lowVsHigh !== undefined && lowVsHigh < 0) {
      throw new ConstraintProblem(
        `in_range low ${JSON.stringify(low)} is above high ${JSON.stringify(high)}`,
      );
    }
    return (v) => {
      const a = fromLow(v);
      const b = fromHigh(v);
      return a !== undefined && b !== undefined && a >= 0 && b <= 0;
    };
  },
};
