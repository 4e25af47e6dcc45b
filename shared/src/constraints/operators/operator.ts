import type { AttributeInfo, AttributeValue } from "../attributes";
import type { ConstraintScalar, ConstraintValue } from "../ast";
import { ConstraintProblem } from "../problems";

/**
 * A constraint operator is a plugin: one file exporting an OperatorPlugin, plus one line in ./index.ts.
 * The plugin checks the constraint value and compiles it into a matcher once per request; the matcher then
 * runs on every candidate node, so it should do no parsing.
 */
export type ValueShape = "none" | "scalar" | "list" | "range" | "count";

export type Matcher = (value: AttributeValue) => boolean;

export interface OperatorPlugin {
  /** Canonical name, stored in the AST (TOSCA / Nomad spelling). */
  name: string;
  /** Other spellings accepted on input: `==`, `=`, `eq`, Nomad names. */
  aliases: readonly string[];
  /** Printed between attribute and value in explanations (`==`, `>=`); default: the name. */
  symbol?: string;
  shape: ValueShape;
  /** Relative evaluation cost; the pipeline runs cheaper predicates first. */
  cost: number;
  /** Result when the node does not have the attribute at all. */
  whenMissing: boolean;
  /** Throws ConstraintProblem when the value does not suit the operator or the attribute. */
  compile(value: CheckedValue, attribute: AttributeInfo): Matcher;
}

/** A value already checked against the operator's shape. */
export type CheckedValue =
  | { shape: "none" }
  | { shape: "scalar"; value: ConstraintScalar }
  | { shape: "list"; values: ConstraintScalar[] }
  | { shape: "range"; low: ConstraintScalar; high: ConstraintScalar }
  | { shape: "count"; count: number };

/** Checks a raw AST value against a shape (one place, so every operator reports the same way). */
export function checkShape(operator: OperatorPlugin, value: ConstraintValue | undefined): CheckedValue {
  const name = operator.name;
  switch (operator.shape) {
    case "none":
      if (value !== undefined) throw new ConstraintProblem(`operator ${name} takes no value`);
      return { shape: "none" };
    case "scalar":
      if (value === undefined) throw new ConstraintProblem(`operator ${name} needs a value`);
      if (Array.isArray(value)) throw new ConstraintProblem(`operator ${name} takes one value, not a list`);
      if (value === "") throw new ConstraintProblem(`operator ${name} needs a non-empty value`);
      return { shape: "scalar", value };
    case "list": {
      if (value === undefined) throw new ConstraintProblem(`operator ${name} needs a list of values`);
      const values = Array.isArray(value)
        ? value
        : typeof value === "string"
          ? value.split(",").map((v) => v.trim())
          : [value];
      if (values.length === 0 || values.some((v) => v === "")) {
        throw new ConstraintProblem(`operator ${name} needs a non-empty list of non-empty values`);
      }
      return { shape: "list", values };
    }
    case "range": {
      if (!Array.isArray(value) || value.length !== 2) {
        throw new ConstraintProblem(`operator ${name} needs a list of two values [low, high]`);
      }
      const [low, high] = value as [ConstraintScalar, ConstraintScalar];
      return { shape: "range", low, high };
    }
    case "count": {
      const count = typeof value === "string" && /^\d+$/.test(value.trim()) ? Number(value) : value;
      if (typeof count !== "number" || !Number.isInteger(count) || count < 0) {
        throw new ConstraintProblem(
          `operator ${name} needs a whole number >= 0, got ${JSON.stringify(value)}`,
        );
      }
      return { shape: "count", count };
    }
  }
}

/** Narrows a CheckedValue inside a plugin whose shape is fixed (a programming error otherwise). */
export function expectShape<S extends CheckedValue["shape"]>(
  value: CheckedValue,
  shape: S,
): Extract<CheckedValue, { shape: S }> {
  if (value.shape !== shape) throw new Error(`operator expected a ${shape} value, got ${value.shape}`);
  return value as Extract<CheckedValue, { shape: S }>;
}
