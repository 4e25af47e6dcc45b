/**
 * The agent's memory measures (docs/agent.md, "Memory"): deferred modules keep the real modules' exports, zod
 * schemas without per-object bound methods behave as before, and the agent's code uses nothing that --jitless
 * (no WebAssembly) would break. The stand-ins at work in a real process (jest has its own module registry):
 * test/integration/agent-memory.test.ts.
 */
import { readFileSync, readdirSync, statSync } from "node:fs";
import Module from "node:module";
import path from "node:path";
import { z } from "zod";
import { deferredModules } from "@openiotfog/edge-agent/runtime/defer-heavy";
import { slimZodSchemas } from "@openiotfog/edge-agent/runtime/lean-zod";

const REPO = path.resolve(__dirname, "../..");

/** Names of an exports object's functions (a compiled ES module's `__esModule` flag left out). */
function functionNames(exports: unknown): string[] {
  return Object.keys(exports as object)
    .filter((k) => k !== "__esModule" && typeof (exports as Record<string, unknown>)[k] === "function")
    .sort();
}

describe("deferred modules", () => {
  it("finds every module it defers, and each stand-in has exactly the real module's exports", () => {
    const modules = deferredModules();
    expect(modules.map((m) => m.request)).toEqual([
      "./session.js",
      "docker-modem/lib/ssh.js",
      "tar-fs",
      "./ws.js",
      "./socks.js",
      "worker-timers",
      "lru-cache",
      "./lib/dumper.js",
    ]);
    for (const m of modules) {
      // Node's own loader (not jest's registry): the real module, as the library would get it.
      const real: unknown = Module.createRequire(m.from)(m.request);
      if (m.shape === undefined) expect(typeof real).toBe("function");
      else
        expect({ [m.request]: functionNames(real) }).toEqual({
          [m.request]: [...(m.shape.functions ?? []), ...(m.shape.classes ?? [])].sort(),
        });
    }
  });
});

describe("zod schemas without per-object bound methods", () => {
  // A zod evaluated apart (jest's isolated registry) is the unmodified library to compare with.
  let plain: typeof z;
  beforeAll(() => {
    jest.isolateModules(() => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      plain = (require("zod") as { z: typeof z }).z;
    });
  });

  const build = (zz: typeof z) =>
    zz
      .object({
        name: zz.string().min(1, "must not be empty").describe("the name"),
        count: zz.number().int().nonnegative().default(1),
        tags: zz.array(zz.string()).optional(),
        mode: zz.enum(["a", "b"]).nullable().catch("a"),
        size: zz
          .string()
          .transform((s) => s.length)
          .pipe(zz.number().max(5)),
        ratio: zz
          .number()
          .refine((n) => n < 1, "must be under 1")
          .nullish(),
      })
      .strict()
      .superRefine((v, ctx) => {
        if (v.count > 9) ctx.addIssue({ code: "custom", message: "too many", path: ["count"] });
      })
      .readonly();

  it("keeps no bound methods on schema objects", () => {
    expect(z.ZodType.prototype).not.toBe(plain.ZodType.prototype);
    const schema = z.string().min(1);
    expect(
      Object.keys(schema).filter(
        (k) => typeof (schema as unknown as Record<string, unknown>)[k] === "function",
      ),
    ).toEqual([]);
    expect(Object.keys(plain.string()).length).toBeGreaterThan(25);
    expect(slimZodSchemas()).toBe(0);
  });

  it("parses, fails and reports exactly as zod does", async () => {
    const ours = build(z);
    const theirs = build(plain);
    const inputs: unknown[] = [
      { name: "x", size: "abc" },
      { name: "", count: -1, size: "abcdefg", extra: true },
      { name: "y", count: 12, mode: "c", size: "a", ratio: 3 },
      "not an object",
    ];
    for (const input of inputs) {
      expect(ours.safeParse(input)).toEqual(theirs.safeParse(input));
      expect(await ours.safeParseAsync(input)).toEqual(await theirs.safeParseAsync(input));
      expect(await ours.spa(input)).toEqual(await theirs.spa(input));
      expect(ours["~standard"].validate(input)).toEqual(theirs["~standard"].validate(input));
    }
    expect(() => ours.parse(inputs[1])).toThrow(z.ZodError);
    await expect(ours.parseAsync(inputs[0])).resolves.toEqual(theirs.parse(inputs[0]));
    expect(ours.description).toBe(theirs.description);
    expect(z.string().optional().isOptional()).toBe(true);
    expect(z.string().isNullable()).toBe(false);
    expect(z.string().or(z.number()).and(z.any()).array().promise()).toBeInstanceOf(z.ZodPromise);
    expect(z.string().brand<"Id">().parse("q")).toBe("q");
    expect(
      z
        .string()
        .refinement((s) => s !== "", { code: "custom" })
        .safeParse("").success,
    ).toBe(false);
    expect(z.string().default("d").parse(undefined)).toBe("d");
    expect(
      z
        .string()
        .transform((s) => s.length)
        .parse("abc"),
    ).toBe(3);
  });

  it("still gives methods that work detached", () => {
    const schema = z.number().int();
    // Detached on purpose: zod promises bound methods, and callers rely on it.
    // eslint-disable-next-line @typescript-eslint/unbound-method
    const { parse, safeParse } = schema;
    expect([1, 2].map((n) => parse(n))).toEqual([1, 2]);
    expect(safeParse(1.5).success).toBe(false);
  });
});

describe("what --jitless takes away", () => {
  // The agent runs with --jitless (docs/agent.md): no WebAssembly, so Node's fetch (undici) fails there.
  const sources = (dir: string): string[] =>
    readdirSync(dir).flatMap((name) => {
      const p = path.join(dir, name);
      return statSync(p).isDirectory() ? sources(p) : p.endsWith(".ts") ? [p] : [];
    });

  it("is used nowhere in the agent's code or the shared package", () => {
    const uses = [...sources(path.join(REPO, "edge-agent/src")), ...sources(path.join(REPO, "shared/src"))]
      .map((file) => ({ file: path.relative(REPO, file), text: readFileSync(file, "utf8") }))
      .filter(({ text }) => /\bfetch\s*\(|\bWebAssembly\b|\bundici\b|\bnew WebSocket\b/.test(text))
      .map(({ file }) => file);
    expect(uses).toEqual([]);
  });
});
