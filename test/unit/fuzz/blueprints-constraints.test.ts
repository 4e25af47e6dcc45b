/**
 * Fuzz of the two text boundaries every entry point shares: blueprints (YAML, from the CLI, the fleet API and the
 * agent's REST API) and constraint strings (from blueprints, VNFD keys, the fleet API). Each input is either read
 * (and then planned on a small fleet, which compiles every constraint and runs placement) or refused with an
 * IotFogError naming where; nothing else is thrown and nothing hangs.
 */
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import fc from "fast-check";
import YAML from "yaml";
import {
  IotFogError,
  parseBlueprint,
  parseConstraints,
  place,
  planDeployment,
  type ServiceSpec,
} from "@openiotfog/shared";
import { node, spec, zigbeeDongle, GiB } from "../../../shared/test/fixtures";
import { FUZZ_RUNS, FUZZ_TIMEOUT_MS, fuzzParams, mutationsOf, nastyString } from "./support";

const EXAMPLES = path.resolve(__dirname, "../../../examples");
const exampleTexts = readdirSync(EXAMPLES)
  .filter((f) => f.endsWith(".yaml"))
  .map((f) => readFileSync(path.join(EXAMPLES, f), "utf8"));

const fleet = {
  nodes: [
    node("pi-1", {
      hostname: "fog-pi-01",
      memoryTotal: 4 * GiB,
      memoryFree: 3 * GiB,
      devices: [zigbeeDongle("zb-1")],
      labels: { zone: "line-1", cell: "a".repeat(2000) },
      protocols: ["zigbee", "mqtt"],
    }),
    node("pi-2", { memoryTotal: 2 * GiB, memoryFree: 1 * GiB, labels: { zone: "line-2" } }),
  ],
};

/** Character-level damage to a text: a few insertions, deletions or replacements at random places. */
function damaged(text: string): fc.Arbitrary<string> {
  const edit = fc.tuple(
    fc.nat({ max: text.length }),
    fc.nat({ max: 8 }),
    fc.oneof(nastyString, fc.constantFrom(":", "- ", "  ", "\n", "{", "[", "&a", "*a", "!!binary", '"', "#")),
  );
  return fc.array(edit, { minLength: 1, maxLength: 4 }).map((edits) => {
    let t = text;
    for (const [at, cut, insert] of edits) t = t.slice(0, at) + insert + t.slice(at + cut);
    return t;
  });
}

const billionLaughs = [
  "a: &a [x, x, x, x, x, x, x, x, x, x]",
  "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]",
  "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]",
  "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]",
  "e: [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]",
].join("\n");

const blueprintText: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...exampleTexts).chain(damaged) },
  {
    weight: 5,
    arbitrary: fc
      .constantFrom(...exampleTexts.map((t) => YAML.parse(t) as unknown))
      .chain(mutationsOf)
      // JSON is YAML too (flow style), and much cheaper to write than block style for each input.
      .map((v) => JSON.stringify(v) ?? ""),
  },
  { weight: 1, arbitrary: fc.oneof(nastyString, fc.constant(billionLaughs)) },
);

const OPERATORS = [
  "==",
  "!=",
  ">",
  ">=",
  "<",
  "<=",
  "=~",
  "pattern",
  "in",
  "in_range",
  "version",
  "semver",
  "set_contains",
  "is_set",
  "length",
  "distinct_property",
  "max_per_node",
  "regexp",
];
const ATTRIBUTES = [
  "node.labels.zone",
  "node.labels.cell",
  "node.hostname",
  "node.resources.memory.free",
  "node.software.docker",
  "node.protocols",
  "node.devices.classes",
  "${meta.zone}",
  "node.nope",
];
const constraintString: fc.Arbitrary<unknown> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .tuple(
        fc.constantFrom(...ATTRIBUTES),
        fc.constantFrom(...OPERATORS),
        fc.oneof(
          nastyString,
          fc.constantFrom("(a+)+$", "(a|aa)*c", "1GiB", ">= 20.10, < 25", "[1, 2]", "a,b", "\\1", "(?=a)"),
        ),
      )
      .map(([a, op, v]) => `${a} ${op} ${v}`),
  },
  {
    weight: 2,
    arbitrary: fc
      .array(fc.constantFrom(...ATTRIBUTES, ...OPERATORS, "||", "&&", " "), { maxLength: 6 })
      .map((p) => p.join(" ")),
  },
  { weight: 1, arbitrary: nastyString },
  {
    weight: 1,
    arbitrary: fc.record({
      attribute: fc.constantFrom(...ATTRIBUTES),
      operator: fc.constantFrom(...OPERATORS),
      value: fc.oneof(nastyString, fc.array(nastyString, { maxLength: 3 })),
    }),
  },
);

function refusedWithIotFogError(e: unknown): void {
  expect(e).toBeInstanceOf(IotFogError);
  expect((e as IotFogError).message).not.toBe("");
}

describe("fuzz: blueprints and constraint strings", () => {
  it(
    `${FUZZ_RUNS} generated blueprints (YAML): read and planned, or refused with IotFogError`,
    () => {
      let read = 0;
      fc.assert(
        fc.property(blueprintText, (text) => {
          let services: ServiceSpec[] | undefined;
          try {
            services = parseBlueprint(text, "fuzz.yaml").services;
          } catch (e) {
            refusedWithIotFogError(e);
            return;
          }
          read += 1;
          const plan = planDeployment(services, fleet);
          expect(Array.isArray(plan.replicas)).toBe(true);
        }),
        fuzzParams(),
      );
      expect(read).toBeGreaterThan(FUZZ_RUNS / 20);
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    `${FUZZ_RUNS} generated constraint strings: compiled and evaluated on nodes, or refused with IotFogError`,
    () => {
      let read = 0;
      fc.assert(
        fc.property(fc.array(constraintString, { minLength: 1, maxLength: 3 }), (inputs) => {
          let constraints;
          try {
            constraints = parseConstraints(inputs as never, "fuzz");
          } catch (e) {
            refusedWithIotFogError(e);
            return;
          }
          const decision = place({ spec: spec({ constraints }) }, fleet);
          read += 1;
          if (!decision.ok) expect(decision.message).not.toBe("");
        }),
        fuzzParams(),
      );
      expect(read).toBeGreaterThan(FUZZ_RUNS / 20);
    },
    FUZZ_TIMEOUT_MS,
  );
});
