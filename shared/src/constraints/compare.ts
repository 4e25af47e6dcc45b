import type { SemVer } from "semver";
import { looksLikeQuantity, parseQuantity, type Quantity } from "../units";
import type { AttributeInfo, AttributeValue } from "./attributes";
import type { ConstraintScalar } from "./ast";
import { ConstraintProblem } from "./problems";
import { semverLib } from "./semver-lib";

/**
 * Typed comparison of a node attribute against a constant from a constraint. The constant is converted once
 * (when the request is compiled); node values are converted per evaluation through small memo tables, because
 * the same label or version strings recur on thousands of nodes.
 */

/** Compares a node value with the constant: <0, 0, >0, or undefined when they cannot be compared. */
export type Comparator = (value: AttributeValue) => number | undefined;

const MEMO_LIMIT = 10_000;
function memo<T>(table: Map<string, T>, key: string, make: (k: string) => T): T {
  const hit = table.get(key);
  if (hit !== undefined || table.has(key)) return hit as T;
  if (table.size >= MEMO_LIMIT) table.clear();
  const made = make(key);
  table.set(key, made);
  return made;
}

const versions = new Map<string, SemVer | null>();
/** Lenient version: `24.0.7`, `v2`, `6.1.0-rpi7-rpi-v8`, `20.10.24+dfsg1` all give a comparable version. */
export function looseVersion(text: string): SemVer | null {
  return memo(versions, text, (t) => semverLib().coerce(t, { includePrerelease: false }));
}

const quantities = new Map<string, Quantity | null>();
function quantityOf(text: string): Quantity | null {
  return memo(quantities, text, (t) => parseQuantity(t) ?? null);
}

export function scalarText(value: ConstraintScalar): string {
  return typeof value === "string" ? value : String(value);
}

/** The constant as a number in the attribute's canonical unit (bytes, Hz, plain). */
export function numericConstant(attribute: AttributeInfo, value: ConstraintScalar): number {
  const text = scalarText(value);
  const q = typeof value === "number" ? { value, dimension: "none" as const } : parseQuantity(text);
  const fail = (expected: string): never => {
    throw new ConstraintProblem(`${attribute.name} takes ${expected}, got ${JSON.stringify(value)}`);
  };
  if (q === undefined) {
    return fail(
      attribute.kind === "bytes"
        ? "a size such as 512MiB or 2GB"
        : attribute.kind === "frequency"
          ? "a frequency such as 1.2GHz"
          : "a number",
    );
  }
  switch (attribute.kind) {
    case "bytes":
      if (q.dimension === "frequency") fail("a size such as 512MiB or 2GB");
      return q.value;
    case "frequency":
      if (q.dimension === "bytes") fail("a frequency such as 1.2GHz");
      // A bare number is MHz, as CPU clocks are quoted.
      return q.dimension === "none" ? q.value * 1e6 : q.value;
    default:
      if (q.dimension !== "none") fail("a plain number");
      return q.value;
  }
}

/** Builds the comparator for ordering operators (`>`, `in_range`, ...). */
export function orderingComparator(attribute: AttributeInfo, value: ConstraintScalar): Comparator {
  switch (attribute.kind) {
    case "number":
    case "bytes":
    case "frequency": {
      const constant = numericConstant(attribute, value);
      return (v) => (typeof v === "number" ? v - constant : undefined);
    }
    case "version": {
      const constant = looseVersion(scalarText(value));
      if (constant === null) {
        throw new ConstraintProblem(
          `${attribute.name} is a version; ${JSON.stringify(value)} is not a version`,
        );
      }
      return (v) => {
        if (typeof v !== "string") return undefined;
        const seen = looseVersion(v);
        return seen === null ? undefined : semverLib().compare(seen, constant);
      };
    }
    case "set":
      throw new ConstraintProblem(`${attribute.name} is a set; ordering operators need a single value`);
    case "string": {
      // Labels are text, but `node.labels.ram >= 2GiB` should compare as sizes when both sides are quantities.
      const text = scalarText(value);
      const constant =
        typeof value === "number" ? { value, dimension: "none" as const } : parseQuantity(text);
      if (constant === undefined) {
        if (looksLikeQuantity(text))
          throw new ConstraintProblem(`${JSON.stringify(value)} has an unknown unit`);
        return (v) => (typeof v === "string" ? (v < text ? -1 : v > text ? 1 : 0) : undefined);
      }
      return (v) => {
        if (typeof v !== "string") return undefined;
        const seen = quantityOf(v);
        if (seen === null) return undefined;
        if (
          seen.dimension !== constant.dimension &&
          seen.dimension !== "none" &&
          constant.dimension !== "none"
        ) {
          return undefined;
        }
        return seen.value - constant.value;
      };
    }
  }
}

/** Equality test for one constant, typed by the attribute. */
export function equalityTest(
  attribute: AttributeInfo,
  value: ConstraintScalar,
): (v: AttributeValue) => boolean {
  switch (attribute.kind) {
    case "number":
    case "bytes":
    case "frequency": {
      const constant = numericConstant(attribute, value);
      return (v) => v === constant;
    }
    case "version": {
      const text = scalarText(value);
      const constant = looseVersion(text);
      return (v) => {
        if (typeof v !== "string") return false;
        if (v === text) return true;
        const seen = looseVersion(v);
        return constant !== null && seen !== null && semverLib().eq(seen, constant);
      };
    }
    case "set": {
      const text = scalarText(value);
      return (v) => Array.isArray(v) && v.includes(text);
    }
    case "string": {
      const raw = scalarText(value);
      const text = attribute.canonicalValue ? attribute.canonicalValue(raw) : raw;
      return (v) => v === text;
    }
  }
}

/** Elements of a set attribute; a string attribute is read as a comma-separated list (as Nomad does). */
export function asSet(v: AttributeValue): readonly string[] {
  if (Array.isArray(v)) return v as readonly string[];
  if (typeof v === "string") return v.split(",").map((s) => s.trim());
  return [String(v)];
}

/** Text of a node value for matching patterns and measuring length. */
export function asText(v: AttributeValue): string {
  return Array.isArray(v) ? v.join(",") : String(v);
}

/** A constant in the form a node value of this attribute has (to compare two constants, e.g. a range's ends). */
export function constantAsNodeValue(attribute: AttributeInfo, value: ConstraintScalar): AttributeValue {
  return attribute.kind === "number" || attribute.kind === "bytes" || attribute.kind === "frequency"
    ? numericConstant(attribute, value)
    : scalarText(value);
}
