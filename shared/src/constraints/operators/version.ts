import type { Range } from "semver";
import { looseVersion, scalarText } from "../compare";
import { ConstraintProblem } from "../problems";
import { semverLib } from "../semver-lib";
import { expectShape, type Matcher, type OperatorPlugin } from "./operator";

/** Nomad writes ranges with commas (`>= 1.2, < 2.0`); npm semver separates AND-ed comparators by spaces. */
function rangeOf(value: string): Range {
  const text = value.replace(/,/g, " ");
  try {
    return new (semverLib().Range)(text);
  } catch {
    throw new ConstraintProblem(`${JSON.stringify(value)} is not a version range (e.g. ">= 20.10, < 25")`);
  }
}

/**
 * Range checks cost microseconds, and a fleet has few distinct versions: remember the answer per version
 * string for this compiled term (bounded, in case every node reports a different build string).
 */
function memoBySeen(check: (version: string) => boolean): Matcher {
  const answers = new Map<string, boolean>();
  return (v) => {
    if (typeof v !== "string") return false;
    let answer = answers.get(v);
    if (answer === undefined) {
      answer = check(v);
      if (answers.size < 4096) answers.set(v, answer);
    }
    return answer;
  };
}

/** Nomad `version`: lenient, the node's version is coerced (`24.0.7+dfsg1` → 24.0.7, `v2` → 2.0.0). */
export const versionOperator: OperatorPlugin = {
  name: "version",
  aliases: [],
  shape: "scalar",
  cost: 4,
  whenMissing: false,
  compile: (value) => {
    const range = rangeOf(scalarText(expectShape(value, "scalar").value));
    return memoBySeen((v) => {
      const seen = looseVersion(v);
      return seen !== null && range.test(seen);
    });
  },
};

/** Nomad `semver`: strict, the node's version must itself be valid semver (pre-releases order as semver says). */
export const semverOperator: OperatorPlugin = {
  name: "semver",
  aliases: [],
  shape: "scalar",
  cost: 4,
  whenMissing: false,
  compile: (value) => {
    const text = scalarText(expectShape(value, "scalar").value).replace(/,/g, " ");
    const range = rangeOf(text);
    return (v) =>
      typeof v === "string" &&
      semverLib().valid(v) !== null &&
      semverLib().satisfies(v, range, { includePrerelease: true });
  },
};
