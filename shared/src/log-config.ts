import { z } from "zod";

/** The `log` section of a process's configuration (agent, driver, `iotfog up`): what createLogger takes. */
export function logSectionSchema(defaultFormat: "json" | "pretty") {
  return z
    .object({
      level: z.enum(["error", "warn", "info", "debug"]).default("info"),
      format: z.enum(["json", "pretty"]).default(defaultFormat),
    })
    .strict()
    .default({});
}

/** The `log` section with JSON lines by default (services read by log collectors). */
export const logConfigSchema = logSectionSchema("json");
