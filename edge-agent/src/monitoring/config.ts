import { z } from "zod";

/** `monitoring:` section of the agent config. */
export const monitoringConfigSchema = z
  .object({
    /** ZeroMQ PUB socket where every agent event is published as [type, JSON]. */
    pubBind: z
      .string()
      .regex(/^(tcp|ipc):\/\/.+$/, "must be a ZeroMQ address such as tcp://0.0.0.0:5557")
      .default("tcp://0.0.0.0:5557"),
    /** Address subscribers are told about; default: the bound address with a wildcard host replaced. */
    pubAdvertise: z
      .string()
      .regex(/^(tcp|ipc):\/\/.+$/, "must be a ZeroMQ address")
      .optional(),
    /** Recent events kept in memory for the REST API. */
    historySize: z.number().int().min(10, "must be >= 10").max(100000, "must be <= 100000").default(500),
    /** Publish events on `<prefix>/v1/nodes/<nodeId>/events`. */
    mqtt: z.boolean().default(true),
    /** Watch the container engine's events (created/started/died/OOM/health) for our containers. */
    containerEvents: z.boolean().default(true),
  })
  .strict()
  .default({});
export type MonitoringConfig = z.output<typeof monitoringConfigSchema>;
