/**
 * Shared pieces of the boundary fuzz tests: how many inputs each boundary gets, arbitrary JSON, and mutations of
 * valid samples (a valid message with one part replaced, dropped or added reaches deeper into a validator than
 * random JSON, which fails at the first field). Each test's name carries its input count, so the count shows in
 * jest's report (and in scripts/test.sh's summary) without printing from a test.
 */
import fc from "fast-check";

/** Generated inputs per boundary (issue 12: at least 10,000 each). */
export const FUZZ_RUNS = 10_000;

/** Jest timeout of one fuzz test: generous for a loaded 2-core machine (each takes seconds alone). */
export const FUZZ_TIMEOUT_MS = 180_000;

/** Fixed seed per run unless FUZZ_SEED is set: a failure is reproducible, and CI can vary it on purpose. */
export const fuzzParams = (numRuns = FUZZ_RUNS): fc.Parameters<unknown> => ({
  numRuns,
  seed: process.env.FUZZ_SEED === undefined ? 0x10f0 : Number(process.env.FUZZ_SEED),
  endOnFailure: true,
});

/** Strings a parser finds hard: empty, huge, unicode, control characters, numbers and keywords as text. */
export const nastyString: fc.Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.constantFrom(
    "",
    " ",
    "null",
    "true",
    "0",
    "-1",
    "1e309",
    "NaN",
    "__proto__",
    "constructor",
    "../../etc/passwd",
    "/",
    "\u0000",
    "\ud800",
    "a".repeat(5000),
    "${x}",
    "%s%n",
  ),
);

/** Any JSON value, strings drawn from nastyString and numbers including huge and negative ones. */
export const anyJson: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.constantFrom(0, -1, 2 ** 53, 1e300, -1e300, 0.5),
    nastyString,
    fc.array(tie("value"), { maxLength: 4 }),
    fc.dictionary(nastyString, tie("value"), { maxKeys: 4 }),
  ),
})).value;

type Path = Array<string | number>;

function paths(value: unknown, prefix: Path = [], out: Path[] = []): Path[] {
  out.push(prefix);
  if (Array.isArray(value)) value.forEach((v, i) => paths(v, [...prefix, i], out));
  else if (value !== null && typeof value === "object")
    for (const [k, v] of Object.entries(value)) paths(v, [...prefix, k], out);
  return out;
}

function setAt(
  root: unknown,
  path: Path,
  edit: (parent: Record<string | number, unknown>, key: string | number) => void,
): unknown {
  const copy = structuredClone(root);
  if (path.length === 0) return copy;
  let parent = copy as Record<string | number, unknown>;
  for (const key of path.slice(0, -1)) parent = parent[key] as Record<string | number, unknown>;
  edit(parent, path[path.length - 1]!);
  return copy;
}

/**
 * A valid sample with one to three edits at random places: a value replaced by any JSON, a field removed, or a
 * field added.
 */
export function mutationsOf(sample: unknown): fc.Arbitrary<unknown> {
  const all = paths(sample);
  const edit = fc.tuple(
    fc.constantFrom(...all),
    fc.constantFrom("replace", "drop", "add"),
    anyJson,
    nastyString,
  );
  return fc.array(edit, { minLength: 1, maxLength: 3 }).map((edits) => {
    let value: unknown = sample;
    for (const [path, kind, json, key] of edits) {
      if (path.length === 0) {
        if (kind === "replace") value = json;
        continue;
      }
      try {
        value = setAt(value, path, (parent, k) => {
          if (kind === "replace") parent[k] = json;
          else if (kind === "drop") {
            if (Array.isArray(parent)) parent.splice(Number(k), 1);
            else delete parent[k];
          } else if (!Array.isArray(parent)) parent[key] = json;
          else parent.push(json);
        });
      } catch {
        // An earlier edit removed the path's parent: this edit has nothing to change.
      }
    }
    return value;
  });
}

/** Either a mutated sample or arbitrary JSON. */
export function inputsLike(...samples: unknown[]): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 4, arbitrary: fc.oneof(...samples.map(mutationsOf)) },
    { weight: 1, arbitrary: anyJson },
  );
}

/** Collects unhandled promise rejections while a fuzz test runs; the test asserts there were none. */
export function watchUnhandledRejections(): { rejections: unknown[]; stop(): void } {
  const rejections: unknown[] = [];
  const listener = (reason: unknown): void => {
    rejections.push(reason);
  };
  process.on("unhandledRejection", listener);
  return { rejections, stop: () => process.off("unhandledRejection", listener) };
}
