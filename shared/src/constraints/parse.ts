import type {
  ConstraintScalar,
  ConstraintSet,
  ConstraintTerm,
  ConstraintValue,
  DistinctProperty,
  Preference,
  Requirement,
  Spread,
} from "./ast";
import { resolveAttribute } from "./attributes";
import { compileTerm } from "./compile";
import { findOperator } from "./operators";
import { ConstraintProblem, problemsError, type InputProblem } from "./problems";

/**
 * Reads constraints as users write them, in either syntax, into the AST:
 * - Swarm strings: `node.labels.zone==line-1`, `node.hostname!=pi-07`; extended with every operator
 *   (`node.resources.memory.free >= 2GiB`, `node.software.docker version ">= 20.10"`, `node.labels.gpu is_set`),
 *   OR groups (`a==1 && b==2 || c==3`) and `distinct_hosts`, `distinct_property node.labels.cell 2`, `max_per_node 1`;
 * - full form objects: `{attribute, operator, value}` (Nomad), TOSCA clauses
 *   `{"node.resources.memory.free": {greater_or_equal: 2GiB}}`, `{any_of: [[...], [...]]}`, `{distinct_hosts: true}`.
 * Every problem is collected with its path; nothing throws half-way.
 */
export type ConstraintInput = string | Record<string, unknown>;

type Path = Array<string | number>;

/** Nomad interpolations that have a direct equivalent, so Nomad job constraints carry over. */
const NOMAD_ATTRIBUTES: Record<string, string> = {
  "node.unique.name": "node.hostname",
  "node.unique.id": "node.id",
  "attr.cpu.arch": "node.platform.arch",
  "attr.kernel.name": "node.platform.os",
  "attr.kernel.version": "node.platform.kernel",
  "attr.cpu.numcores": "node.resources.cpu.cores",
  "attr.memory.totalbytes": "node.resources.memory.total",
};

function attributeName(raw: string): string {
  const m = /^\$\{(.+)\}$/.exec(raw.trim());
  if (m === null) return raw.trim();
  const inner = m[1] ?? "";
  if (inner.startsWith("meta.")) return `node.labels.${inner.slice(5)}`;
  return NOMAD_ATTRIBUTES[inner] ?? inner;
}

// ---------------------------------------------------------------------------------------------------------------
// String syntax

/** Splits on a two-character separator outside quotes. */
function splitOutsideQuotes(text: string, separator: string): string[] {
  const parts: string[] = [];
  let quote: string | undefined;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote !== undefined) {
      if (c === "\\") i++;
      else if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") quote = c;
    else if (text.startsWith(separator, i)) {
      parts.push(text.slice(start, i));
      i += separator.length - 1;
      start = i + 1;
    }
  }
  if (quote !== undefined) throw new ConstraintProblem(`unterminated quote in ${JSON.stringify(text)}`);
  parts.push(text.slice(start));
  return parts;
}

function unquote(text: string): string {
  const t = text.trim();
  if (t.length >= 2 && t.startsWith('"') && t.endsWith('"')) {
    try {
      return JSON.parse(t) as string;
    } catch {
      throw new ConstraintProblem(`bad quoted value ${t}`);
    }
  }
  if (t.length >= 2 && t.startsWith("'") && t.endsWith("'")) return t.slice(1, -1);
  return t;
}

/** A value in string syntax; `[a, b]` is a list only for operators that take one (a regexp may start with `[`). */
function parseValueText(text: string, takesList: boolean): ConstraintValue | undefined {
  const t = text.trim();
  if (t === "") return undefined;
  if (takesList && t.startsWith("[")) {
    if (!t.endsWith("]")) throw new ConstraintProblem(`list ${JSON.stringify(t)} is missing its closing "]"`);
    const inner = t.slice(1, -1).trim();
    if (inner === "") return [];
    return splitOutsideQuotes(inner, ",").map((v) => unquote(v));
  }
  return unquote(t);
}

const SYMBOLIC_TERM = /^([^\s=!<>~]+)\s*(==|!=|>=|<=|=~|>|<|=)\s*(.*)$/s;
const WORD_TERM = /^(\S+)\s+([A-Za-z_]+)(?:\s+(.*))?$/s;

/** One term in string form: `attr OP value` or `attr word_operator [value]`. */
export function parseTermString(text: string): ConstraintTerm {
  const t = text.trim();
  if (t === "") throw new ConstraintProblem("empty constraint");
  const symbolic = SYMBOLIC_TERM.exec(t);
  if (symbolic !== null) {
    const [, attr = "", op = "", rest = ""] = symbolic;
    const operator = findOperator(op);
    const value = parseValueText(rest, operator.shape === "list" || operator.shape === "range");
    if (value === undefined) throw new ConstraintProblem(`"${t}" has no value after "${op}"`);
    return { attribute: attributeName(attr), operator: operator.name, value };
  }
  const word = WORD_TERM.exec(t);
  if (word === null) {
    throw new ConstraintProblem(
      `cannot read "${t}": expected "attribute OP value" such as node.labels.zone==line-1 or "attribute operator value"`,
    );
  }
  const [, attr = "", op = "", rest = ""] = word;
  const operator = findOperator(op);
  const value = parseValueText(rest, operator.shape === "list" || operator.shape === "range");
  return value === undefined
    ? { attribute: attributeName(attr), operator: operator.name }
    : { attribute: attributeName(attr), operator: operator.name, value };
}

// ---------------------------------------------------------------------------------------------------------------
// Collecting into a ConstraintSet

class SetBuilder {
  requirements: Requirement[] = [];
  distinctHosts = false;
  distinctProperties: DistinctProperty[] = [];
  maxPerNode: number | undefined;

  constructor(readonly problems: InputProblem[]) {}

  build(): ConstraintSet {
    const set: ConstraintSet = {
      requirements: this.requirements,
      distinctHosts: this.distinctHosts,
      distinctProperties: this.distinctProperties,
    };
    if (this.maxPerNode !== undefined) set.maxPerNode = this.maxPerNode;
    return set;
  }

  /** Runs `fn`, recording a ConstraintProblem at `path` instead of throwing. */
  attempt(path: Path, fn: () => void): void {
    try {
      fn();
    } catch (e) {
      if (!(e instanceof ConstraintProblem)) throw e;
      this.problems.push({ path, message: e.message });
    }
  }

  /** Checks a term by compiling it (unknown attribute, wrong value type, bad regexp, ...). */
  term(term: ConstraintTerm): ConstraintTerm {
    compileTerm(term);
    return term;
  }

  placementRule(name: string, argument: unknown): void {
    switch (name) {
      case "distinct_hosts":
        if (
          argument !== undefined &&
          argument !== true &&
          argument !== "true" &&
          argument !== false &&
          argument !== "false"
        ) {
          throw new ConstraintProblem(`distinct_hosts takes true or false, got ${JSON.stringify(argument)}`);
        }
        this.distinctHosts = argument === undefined || argument === true || argument === "true";
        return;
      case "distinct_property": {
        let attribute: unknown = argument;
        let limit: unknown = 1;
        if (typeof argument === "string") {
          const [attr, lim, ...extra] = argument.trim().split(/\s+/);
          if (extra.length > 0) throw new ConstraintProblem(`distinct_property takes "attribute [limit]"`);
          attribute = attr;
          if (lim !== undefined) limit = /^\d+$/.test(lim) ? Number(lim) : lim;
        } else if (argument !== null && typeof argument === "object" && !Array.isArray(argument)) {
          const o = argument as Record<string, unknown>;
          attribute = o.attribute;
          limit = o.limit ?? 1;
        }
        if (typeof attribute !== "string" || attribute === "") {
          throw new ConstraintProblem(
            "distinct_property needs an attribute, e.g. distinct_property node.labels.cell",
          );
        }
        if (typeof limit !== "number" || !Number.isInteger(limit) || limit < 1) {
          throw new ConstraintProblem(
            `distinct_property limit must be a whole number >= 1, got ${JSON.stringify(limit)}`,
          );
        }
        const name = attributeName(attribute);
        resolveAttribute(name);
        this.distinctProperties.push({ attribute: name, limit });
        return;
      }
      case "max_per_node":
      case "max_replicas": {
        const n = typeof argument === "string" && /^\d+$/.test(argument.trim()) ? Number(argument) : argument;
        if (typeof n !== "number" || !Number.isInteger(n) || n < 1) {
          throw new ConstraintProblem(`${name} must be a whole number >= 1, got ${JSON.stringify(argument)}`);
        }
        this.maxPerNode = this.maxPerNode === undefined ? n : Math.min(this.maxPerNode, n);
        return;
      }
      default:
        throw new Error(`not a placement rule: ${name}`);
    }
  }
}

const PLACEMENT_RULE =
  /^(distinct_hosts|distinct_property|max_per_node|max_replicas)\b\s*(?:(?:==|=|\s)\s*(.*))?$/s;
const RULE_NAMES = new Set(["distinct_hosts", "distinct_property", "max_per_node", "max_replicas"]);

function readString(builder: SetBuilder, text: string, path: Path): void {
  builder.attempt(path, () => {
    const rule = PLACEMENT_RULE.exec(text.trim());
    if (rule !== null) {
      const arg = rule[2]?.trim();
      builder.placementRule(rule[1] ?? "", arg === "" ? undefined : arg);
      return;
    }
    const groups = splitOutsideQuotes(text, "||").map((g) =>
      splitOutsideQuotes(g, "&&").map(parseTermString),
    );
    const single = groups.length === 1 ? groups[0] : undefined;
    if (single !== undefined) {
      for (const term of single) builder.requirements.push(builder.term(term));
    } else {
      builder.requirements.push({ anyOf: groups.map((g) => g.map((t) => builder.term(t))) });
    }
  });
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function isScalar(v: unknown): v is ConstraintScalar {
  return typeof v === "string" || typeof v === "number" || typeof v === "boolean";
}

function checkValue(v: unknown): ConstraintValue | undefined {
  if (v === undefined || v === null) return undefined;
  if (isScalar(v)) return v;
  if (Array.isArray(v) && v.every(isScalar)) return v;
  throw new ConstraintProblem(
    `value must be a string, number, boolean or a list of them, got ${JSON.stringify(v)}`,
  );
}

/** Terms from one object that is not an OR block or placement rule: Nomad form or TOSCA clause mapping. */
function termsFromObject(o: Record<string, unknown>): ConstraintTerm[] {
  if ("attribute" in o || "operator" in o) {
    const extra = Object.keys(o).filter((k) => k !== "attribute" && k !== "operator" && k !== "value");
    if (extra.length > 0)
      throw new ConstraintProblem(`unexpected key(s) ${extra.join(", ")} next to attribute/operator/value`);
    if (typeof o.attribute !== "string" || o.attribute.trim() === "")
      throw new ConstraintProblem("attribute must be a non-empty string");
    const operatorName = o.operator === undefined ? "equal" : o.operator;
    if (typeof operatorName !== "string") throw new ConstraintProblem("operator must be a string");
    const operator = findOperator(operatorName.trim());
    const value = checkValue(o.value);
    const attribute = attributeName(o.attribute);
    return [
      value === undefined
        ? { attribute, operator: operator.name }
        : { attribute, operator: operator.name, value },
    ];
  }
  const keys = Object.keys(o);
  if (keys.length !== 1) {
    throw new ConstraintProblem(
      keys.length === 0
        ? "empty constraint object"
        : `a TOSCA constraint maps one attribute to its clauses; got keys ${keys.join(", ")}`,
    );
  }
  const attribute = attributeName(keys[0] ?? "");
  const clauses = o[keys[0] ?? ""];
  // TOSCA shorthand: `attribute: value` means equal.
  if (isScalar(clauses)) return [{ attribute, operator: "equal", value: clauses }];
  const list = Array.isArray(clauses) ? clauses : [clauses];
  if (list.length === 0)
    throw new ConstraintProblem(`${attribute} has no clauses; write e.g. {equal: value}`);
  const terms: ConstraintTerm[] = [];
  for (const clause of list) {
    if (!isRecord(clause) || Object.keys(clause).length === 0) {
      throw new ConstraintProblem(
        `clauses of ${attribute} must be like {greater_or_equal: 2GiB}, got ${JSON.stringify(clause)}`,
      );
    }
    for (const [opName, raw] of Object.entries(clause)) {
      const operator = findOperator(opName);
      const value = checkValue(raw);
      terms.push(
        value === undefined
          ? { attribute, operator: operator.name }
          : { attribute, operator: operator.name, value },
      );
    }
  }
  return terms;
}

function termsFromInput(builder: SetBuilder, input: unknown): ConstraintTerm[] {
  if (typeof input === "string") {
    const parts = splitOutsideQuotes(input, "&&");
    if (splitOutsideQuotes(input, "||").length > 1)
      throw new ConstraintProblem("an any_of group cannot itself contain ||");
    return parts.map((p) => builder.term(parseTermString(p)));
  }
  if (isRecord(input)) {
    if ("any_of" in input || "anyOf" in input) throw new ConstraintProblem("any_of blocks cannot be nested");
    return termsFromObject(input).map((t) => builder.term(t));
  }
  throw new ConstraintProblem(`expected a constraint string or object, got ${JSON.stringify(input)}`);
}

function readObject(builder: SetBuilder, o: Record<string, unknown>, path: Path): void {
  const orKey = "any_of" in o ? "any_of" : "anyOf" in o ? "anyOf" : undefined;
  if (orKey !== undefined) {
    builder.attempt(path, () => {
      if (Object.keys(o).length !== 1)
        throw new ConstraintProblem(`${orKey} must be the only key of its entry`);
    });
    const groupsInput = o[orKey];
    if (!Array.isArray(groupsInput) || groupsInput.length === 0) {
      builder.problems.push({
        path: [...path, orKey],
        message: "must be a non-empty list of groups (each a list of terms)",
      });
      return;
    }
    const groups: ConstraintTerm[][] = [];
    groupsInput.forEach((group, g) => {
      const items: unknown[] = Array.isArray(group) ? group : [group];
      const terms: ConstraintTerm[] = [];
      items.forEach((item, t) => {
        builder.attempt(Array.isArray(group) ? [...path, orKey, g, t] : [...path, orKey, g], () => {
          terms.push(...termsFromInput(builder, item));
        });
      });
      if (items.length === 0)
        builder.problems.push({ path: [...path, orKey, g], message: "a group needs at least one term" });
      groups.push(terms);
    });
    builder.requirements.push({ anyOf: groups });
    return;
  }
  const ruleKey = Object.keys(o).find((k) => RULE_NAMES.has(k));
  if (ruleKey !== undefined && Object.keys(o).length === 1) {
    builder.attempt([...path, ruleKey], () => builder.placementRule(ruleKey, o[ruleKey]));
    return;
  }
  // Nomad spells placement rules as operators: {operator: distinct_hosts}, {attribute, operator: distinct_property, value}.
  if (typeof o.operator === "string" && RULE_NAMES.has(o.operator)) {
    builder.attempt(path, () =>
      builder.placementRule(
        o.operator as string,
        o.operator === "distinct_property"
          ? { attribute: o.attribute, limit: o.value === undefined ? 1 : Number(o.value) }
          : o.value,
      ),
    );
    return;
  }
  builder.attempt(path, () => {
    for (const term of termsFromObject(o)) builder.requirements.push(builder.term(term));
  });
}

/** Collects constraints into a set, recording problems under `path` instead of throwing. */
export function readConstraints(input: unknown, path: Path, problems: InputProblem[]): ConstraintSet {
  const builder = new SetBuilder(problems);
  const entries = input === undefined || input === null ? [] : Array.isArray(input) ? input : [input];
  entries.forEach((entry, i) => {
    const at = Array.isArray(input) ? [...path, i] : path;
    if (typeof entry === "string") readString(builder, entry, at);
    else if (isRecord(entry)) readObject(builder, entry, at);
    else
      problems.push({
        path: at,
        message: `expected a constraint string or object, got ${JSON.stringify(entry)}`,
      });
  });
  return builder.build();
}

/** Parses constraints in either syntax into the AST. Throws IotFogError VALIDATION_FAILED naming every bad entry. */
export function parseConstraints(
  input: readonly ConstraintInput[] | ConstraintInput,
  source = "constraints",
): ConstraintSet {
  const problems: InputProblem[] = [];
  const set = readConstraints(input, [], problems);
  if (problems.length > 0) throw problemsError(source, problems);
  return set;
}

// ---------------------------------------------------------------------------------------------------------------
// Preferences and spread

/** Collects soft preferences: `{weight: 50, constraint: "node.labels.zone==line-1"}`, Nomad affinity form, or a string (weight 50). */
export function readPreferences(input: unknown, path: Path, problems: InputProblem[]): Preference[] {
  const out: Preference[] = [];
  const entries = input === undefined || input === null ? [] : Array.isArray(input) ? input : [input];
  const builder = new SetBuilder(problems);
  entries.forEach((entry, i) => {
    const at = Array.isArray(input) ? [...path, i] : path;
    builder.attempt(at, () => {
      let weight: unknown = 50;
      let termInput: unknown = entry;
      if (isRecord(entry)) {
        const { weight: w, constraint, term, ...rest } = entry;
        weight = w ?? 50;
        termInput = constraint ?? term ?? rest;
      }
      if (
        typeof weight !== "number" ||
        !Number.isInteger(weight) ||
        weight < -100 ||
        weight > 100 ||
        weight === 0
      ) {
        throw new ConstraintProblem(
          `weight must be a whole number from -100 to 100 other than 0, got ${JSON.stringify(weight)}`,
        );
      }
      const terms = termsFromInput(builder, termInput);
      const only = terms.length === 1 ? terms[0] : undefined;
      if (only === undefined)
        throw new ConstraintProblem("a preference is exactly one term (write one preference per term)");
      out.push({ term: only, weight });
    });
  });
  return out;
}

/** Collects spread rules: `node.labels.line`, `spread=node.labels.line`, or `{attribute, weight, targets}`. */
export function readSpread(input: unknown, path: Path, problems: InputProblem[]): Spread[] {
  const out: Spread[] = [];
  const entries = input === undefined || input === null ? [] : Array.isArray(input) ? input : [input];
  const builder = new SetBuilder(problems);
  entries.forEach((entry, i) => {
    const at = Array.isArray(input) ? [...path, i] : path;
    builder.attempt(at, () => {
      const o: Record<string, unknown> =
        typeof entry === "string"
          ? { attribute: entry.replace(/^spread\s*=\s*/, "") }
          : isRecord(entry)
            ? entry
            : {};
      if (typeof o.attribute !== "string" || o.attribute.trim() === "") {
        throw new ConstraintProblem(
          `a spread needs an attribute, e.g. node.labels.line; got ${JSON.stringify(entry)}`,
        );
      }
      const extra = Object.keys(o).filter((k) => !["attribute", "weight", "targets"].includes(k));
      if (extra.length > 0) throw new ConstraintProblem(`unexpected key(s) ${extra.join(", ")} in spread`);
      const attribute = attributeName(o.attribute);
      resolveAttribute(attribute);
      const weight = o.weight ?? 50;
      if (typeof weight !== "number" || !Number.isInteger(weight) || weight < 1 || weight > 100) {
        throw new ConstraintProblem(
          `spread weight must be a whole number from 1 to 100, got ${JSON.stringify(weight)}`,
        );
      }
      const targets: Spread["targets"] = [];
      const rawTargets = o.targets ?? [];
      const pairs: Array<[unknown, unknown]> = isRecord(rawTargets)
        ? Object.entries(rawTargets)
        : Array.isArray(rawTargets)
          ? rawTargets.map((t) => (isRecord(t) ? [t.value, t.percent] : [t, undefined]))
          : [[rawTargets, undefined]];
      for (const [value, percent] of pairs) {
        if (typeof value !== "string" && typeof value !== "number") {
          throw new ConstraintProblem(`spread target value must be text, got ${JSON.stringify(value)}`);
        }
        if (typeof percent !== "number" || percent < 0 || percent > 100) {
          throw new ConstraintProblem(
            `spread target ${String(value)} needs a percent from 0 to 100, got ${JSON.stringify(percent)}`,
          );
        }
        targets.push({ value: String(value), percent });
      }
      const sum = targets.reduce((s, t) => s + t.percent, 0);
      if (sum > 100) throw new ConstraintProblem(`spread target percentages add up to ${sum}, more than 100`);
      out.push({ attribute, weight, targets });
    });
  });
  return out;
}

export function parsePreferences(input: unknown, source = "preferences"): Preference[] {
  const problems: InputProblem[] = [];
  const out = readPreferences(input, [], problems);
  if (problems.length > 0) throw problemsError(source, problems);
  return out;
}

export function parseSpread(input: unknown, source = "spread"): Spread[] {
  const problems: InputProblem[] = [];
  const out = readSpread(input, [], problems);
  if (problems.length > 0) throw problemsError(source, problems);
  return out;
}
