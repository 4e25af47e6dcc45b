import { z } from "zod";

/** `metrics:` section of the agent config (docs/metrics.md). */
export const agentMetricsConfigSchema = z
  .object({
    /** Serve `GET /metrics` on the REST API's listener (same token; needs `rest.enabled`). */
    enabled: z.boolean().default(true),
    /**
     * A token that reads the metrics and nothing else, the same on every node, so one Prometheus job scrapes
     * the whole fleet (its `authorization.credentials_file`). The REST token is accepted too.
     */
    scrapeToken: z.string().min(16, "must be at least 16 characters").optional(),
    /** The scrape token from a file (owner-only), instead of `scrapeToken`. */
    scrapeTokenFile: z.string().min(1).optional(),
    /** How often the containers' CPU, memory, network and restarts are read from the engine; 0: never. */
    containerIntervalMs: z.number().int().min(0).default(10000),
    /** Deadline of one container's reading. */
    containerTimeoutMs: z.number().int().min(100).default(5000),
    /** At most this many containers are read per pass (one at a time), so a pass stays bounded. */
    maxContainers: z.number().int().min(1).max(1000).default(100),
  })
  .strict()
  .refine(
    (m) => m.scrapeToken === undefined || m.scrapeTokenFile === undefined,
    "set scrapeToken or scrapeTokenFile, not both",
  )
  .default({});
export type AgentMetricsConfig = z.output<typeof agentMetricsConfigSchema>;
