import { ZodType, z } from "zod";

type Method = (...args: unknown[]) => unknown;

/**
 * zod 3 binds 27 methods (parse, safeParse, optional, refine...) to every schema object in its constructor and
 * gives each a `~standard` object with a closure. The agent holds about 800 schema objects (protocol, payloads,
 * configuration, events), so about 21,000 bound functions: 1 MiB of heap on a node whose whole budget is 60 MB.
 *
 * This turns those properties into getters on ZodType.prototype that bind on access and ignore the
 * constructor's assignment, so nothing is kept per object. What callers see does not change: `schema.parse` is
 * still bound (it works detached, as in `items.map(schema.parse)`), `~standard.validate` still validates. A
 * method a subclass overrides is left alone (the constructor's assignment then lands on the object as before).
 * Applies to schemas built after it runs, which is why the agent's entry points import it first. Returns how many
 * properties it turned into getters (0 when already done, or when a zod release no longer binds).
 */
export function slimZodSchemas(base: typeof ZodType = ZodType, probe: unknown = z.string()): number {
  const proto = base.prototype as unknown as Record<string, unknown>;
  const own = probe as Record<string, unknown>;
  // The methods themselves, read before any is replaced (`spa` is an alias of safeParseAsync).
  const targets = new Map<string, Method>();
  for (const key of Object.keys(own)) {
    const value = own[key];
    if (typeof value !== "function" || !value.name.startsWith("bound ")) continue;
    const method = Object.getOwnPropertyDescriptor(proto, value.name.slice("bound ".length))
      ?.value as unknown;
    if (typeof method === "function") targets.set(key, method as Method);
  }
  for (const [key, method] of targets) {
    Object.defineProperty(proto, key, {
      configurable: true,
      get(this: unknown): Method {
        return method.bind(this);
      },
      // zod's constructor assigns the bound method here: not keeping it is the saving.
      set(): void {},
    });
  }
  const standard = own["~standard"] as { version?: unknown; vendor?: unknown } | undefined;
  if (
    typeof standard === "object" &&
    Object.getOwnPropertyDescriptor(proto, "~standard")?.get === undefined
  ) {
    const { version, vendor } = standard;
    Object.defineProperty(proto, "~standard", {
      configurable: true,
      get(this: { "~validate"(data: unknown): unknown }) {
        return { version, vendor, validate: (data: unknown) => this["~validate"](data) };
      },
      set(): void {},
    });
  }
  return targets.size;
}

slimZodSchemas();
