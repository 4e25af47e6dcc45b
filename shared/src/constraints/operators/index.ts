import { equalOperator, notEqualOperator } from "./equal";
import { inRangeOperator } from "./in-range";
import { isNotSetOperator, isSetOperator } from "./is-set";
import { lengthEqualOperator, maxLengthOperator, minLengthOperator } from "./length";
import type { OperatorPlugin } from "./operator";
import {
  greaterOrEqualOperator,
  greaterThanOperator,
  lessOrEqualOperator,
  lessThanOperator,
} from "./ordering";
import { patternOperator, regexpOperator } from "./pattern";
import { setContainsAnyOperator, setContainsOperator } from "./set-contains";
import { semverOperator, versionOperator } from "./version";
import { validValuesOperator } from "./valid-values";
import { ConstraintProblem } from "../problems";

export type { OperatorPlugin, Matcher, ValueShape, CheckedValue } from "./operator";
export { checkShape, expectShape } from "./operator";

/** The operator registry: a new operator is one file plus one line here. */
export const operatorPlugins: readonly OperatorPlugin[] = [
  equalOperator,
  notEqualOperator,
  greaterThanOperator,
  greaterOrEqualOperator,
  lessThanOperator,
  lessOrEqualOperator,
  inRangeOperator,
  validValuesOperator,
  lengthEqualOperator,
  minLengthOperator,
  maxLengthOperator,
  patternOperator,
  regexpOperator,
  setContainsOperator,
  setContainsAnyOperator,
  versionOperator,
  semverOperator,
  isSetOperator,
  isNotSetOperator,
];

const byName = new Map<string, OperatorPlugin>();
for (const plugin of operatorPlugins) {
  for (const spelling of [plugin.name, ...plugin.aliases]) {
    if (byName.has(spelling)) throw new Error(`operator spelling ${spelling} registered twice`);
    byName.set(spelling, plugin);
  }
}

/** Every accepted operator spelling, for error messages and the string syntax. */
export const operatorSpellings: readonly string[] = [...byName.keys()];

/** Finds an operator by name or alias (word spellings are case-insensitive); throws naming the known ones. */
export function findOperator(spelling: string): OperatorPlugin {
  const plugin = byName.get(spelling) ?? byName.get(spelling.toLowerCase());
  if (plugin === undefined) {
    throw new ConstraintProblem(
      `unknown operator "${spelling}" (known: ${operatorPlugins.map((p) => p.name).join(", ")}, and ==, !=, >, >=, <, <=, =~)`,
    );
  }
  return plugin;
}
