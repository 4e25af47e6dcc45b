import { z } from "zod";

/** `metrics:` section of the driver config (docs/metrics.md). */
export const driverMetricsConfigSchema = z
  .object({
    /** Serve `GET /metrics` on the fleet API's listener (API token or scrape token). */
    enabled: z.boolean().default(true),
    /** A token that reads the metrics and nothing else (Prometheus' `authorization.credentials_file`). */
    scrapeToken: z.string().min(16, "must be at least 16 characters").optional(),
    /** The scrape token from a file, instead of `scrapeToken`. */
    scrapeTokenFile: z.string().min(1).optional(),
    /**
     * A listener for /metrics alone, for a driver whose fleet API is off (`api.enabled: false`); the API token
     * (api.token / api.tokenFile) or the scrape token reads it.
     */
    listen: z
      .object({
        host: z.string().min(1).default("127.0.0.1"),
        port: z.number().int().min(0).max(65535).default(7081),
      })
      .strict()
      .optional(),
  })
  .strict()
  .refine(
    (m) => m.scrapeToken === undefined || m.scrapeTokenFile === undefined,
    "set scrapeToken or scrapeTokenFile, not both",
  )
  .default({});
export type DriverMetricsConfig = z.output<typeof driverMetricsConfigSchema>;
