import { formatBytes, formatFrequency } from "../units";
import {
  resolveAttribute,
  type AttributeInfo,
  type AttributeSource,
  type AttributeValue,
} from "./attributes";
import type { ConstraintScalar, ConstraintTerm, ConstraintValue, Requirement } from "./ast";
import { checkShape, findOperator, type CheckedValue } from "./operators";

/**
 * Turns AST terms into predicates over nodes. Compilation resolves the attribute and the operator and checks
 * the value once, so evaluation per node is a read plus a comparison.
 */
export interface CompiledTerm {
  term: ConstraintTerm;
  /** As an operator reads it: `node.labels.zone == line-1`. */
  text: string;
  cost: number;
  attribute: AttributeInfo;
  test: (node: AttributeSource) => boolean;
}

function valueText(value: ConstraintValue | undefined): string {
  if (value === undefined) return "";
  if (Array.isArray(value)) return `[${value.map((v) => scalarDisplay(v)).join(", ")}]`;
  return scalarDisplay(value);
}

function scalarDisplay(v: ConstraintScalar): string {
  return typeof v === "string" && /[\s,[\]"]/.test(v) ? JSON.stringify(v) : String(v);
}

/** `node.labels.zone == line-1`, `node.software.docker version ">= 20.10"`, `node.labels.gpu is_set`. */
export function formatTerm(term: ConstraintTerm): string {
  let symbol = term.operator;
  try {
    const op = findOperator(term.operator);
    symbol = op.symbol ?? op.name;
  } catch {
    // Unknown operators are reported by compileTerm; formatting must never throw.
  }
  const value = valueText(term.value);
  return value === "" ? `${term.attribute} ${symbol}` : `${term.attribute} ${symbol} ${value}`;
}

/** Compiles one term. Throws ConstraintProblem (unknown attribute or operator, unsuitable value). */
export function compileTerm(term: ConstraintTerm): CompiledTerm {
  const attribute = resolveAttribute(term.attribute);
  const operator = findOperator(term.operator);
  const checked = checkShape(operator, term.value);
  const matcher = operator.compile(checked, attribute);
  const whenMissing = operator.whenMissing;
  const read = attribute.read;
  return {
    term,
    text: formatTerm({ ...term, operator: operator.name }),
    cost: operator.cost,
    attribute,
    test:
      directTextTest(operator.name, checked, attribute) ??
      ((node) => {
        const v = read(node);
        return v === undefined ? whenMissing : matcher(v);
      }),
  };
}

/**
 * Swarm-style `label == value` and `!=` on plain text are most of what fleets use: test them with one read and
 * one comparison instead of three closure calls (a measurable share of a decision over 10,000 nodes). Same
 * semantics as the operators: a missing attribute fails `==` and passes `!=`.
 */
function directTextTest(
  operator: string,
  checked: CheckedValue,
  attribute: AttributeInfo,
): ((node: AttributeSource) => boolean) | undefined {
  if (attribute.kind !== "string" || checked.shape !== "scalar") return undefined;
  const raw = typeof checked.value === "string" ? checked.value : String(checked.value);
  const text = attribute.canonicalValue ? attribute.canonicalValue(raw) : raw;
  const read = attribute.read;
  if (operator === "equal") return (node) => read(node) === text;
  if (operator === "not_equal") return (node) => read(node) !== text;
  return undefined;
}

/** How a node's value of an attribute reads in an explanation: `1.8GiB`, `1.2GHz`, `[mqtt, opcua]`, `no value`. */
export function describeAttributeValue(attribute: AttributeInfo, value: AttributeValue | undefined): string {
  if (value === undefined) return "no value";
  if (Array.isArray(value)) return value.length === 0 ? "[]" : `[${value.join(", ")}]`;
  if (typeof value === "number") {
    if (attribute.kind === "bytes") return formatBytes(value);
    if (attribute.kind === "frequency") return formatFrequency(value);
    return String(value);
  }
  return value === "" ? '"" (key only)' : (value as string);
}

/** A hard requirement compiled: one term, or an OR of AND-groups. */
export interface CompiledRequirement {
  text: string;
  cost: number;
  test: (node: AttributeSource) => boolean;
  /** What the node had for every attribute the requirement reads, for explanations. */
  seen: (node: AttributeSource) => string;
}

export function compileRequirement(requirement: Requirement): CompiledRequirement {
  if (!("anyOf" in requirement)) {
    const compiled = compileTerm(requirement);
    return {
      text: compiled.text,
      cost: compiled.cost,
      test: compiled.test,
      seen: (node) => describeAttributeValue(compiled.attribute, compiled.attribute.read(node)),
    };
  }
  const groups = requirement.anyOf.map((group) => group.map(compileTerm));
  const groupText = (group: CompiledTerm[]): string => group.map((t) => t.text).join(" and ");
  return {
    text: `any of (${groups.map((g) => `${groupText(g)}`).join(") or (")})`,
    cost: groups.reduce((sum, g) => sum + g.reduce((s, t) => s + t.cost, 0), 0),
    test: (node) => groups.some((group) => group.every((t) => t.test(node))),
    seen: (node) => {
      // Each group fails on at least one term; show those terms with the node's values.
      const parts = groups.map((group) =>
        group
          .filter((t) => !t.test(node))
          .map((t) => `${t.attribute.name} is ${describeAttributeValue(t.attribute, t.attribute.read(node))}`)
          .join(", "),
      );
      return [...new Set(parts)].join(" / ");
    },
  };
}
