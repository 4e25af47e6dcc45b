import os from "node:os";
import path from "node:path";
import { z } from "zod";

/** Agent configuration (YAML file + `IOTFOG_*` environment overrides). Documented in README.md. */
export const agentConfigSchema = z
  .object({
    nodeId: z
      .string()
      .regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/, "must be 1-63 letters, digits, '.', '_' or '-'")
      .default(() => os.hostname()),
    dataDir: z.string().min(1).optional(),
    mqtt: z
      .object({
        url: z.string().url().default("mqtt://127.0.0.1:1883"),
        username: z.string().optional(),
        password: z.string().optional(),
        topicPrefix: z.string().min(1).default("iotfog"),
      })
      .strict()
      .default({}),
    log: z
      .object({
        level: z.enum(["error", "warn", "info", "debug"]).default("info"),
        format: z.enum(["json", "pretty"]).default("json"),
      })
      .strict()
      .default({}),
    labels: z.record(z.string()).default({}),
  })
  .strict();

export type AgentConfigInput = z.input<typeof agentConfigSchema>;
export type AgentConfig = z.output<typeof agentConfigSchema> & { dataDir: string };

/** Fills in values that depend on other fields. */
export function resolveAgentConfig(parsed: z.output<typeof agentConfigSchema>): AgentConfig {
  return { ...parsed, dataDir: parsed.dataDir ?? path.resolve(".iotfog", `agent-${parsed.nodeId}`) };
}
