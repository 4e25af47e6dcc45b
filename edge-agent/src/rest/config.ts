import { z } from "zod";
import { httpTlsSchema, refinePlainHttpBind } from "@openiotfog/shared";

/** `rest:` section of the agent config. */
export const restConfigSchema = z
  .object({
    enabled: z.boolean().default(true),
    /**
     * Loopback by default: operators on the node (or an SSH tunnel) use it; any other address needs `tls`
     * (or the explicit `insecurePlainHttp`).
     */
    host: z.string().min(1).default("127.0.0.1"),
    /** 0 picks a free port (tests). */
    port: z.number().int().min(0).max(65535).default(8470),
    /**
     * The URL clients are told (MQTT presence, status); default: the listening URL, a wildcard host replaced
     * by this machine's first external IPv4 address.
     */
    advertise: z
      .string()
      .url("must be a URL such as http://10.0.0.7:8470")
      .regex(/^https?:\/\//, "must be an http(s) URL")
      .optional(),
    /**
     * Bearer token for writes (and reads unless openReads). When absent the agent generates one and keeps it in
     * `<dataDir>/rest-token` (mode 0600), so the API is never open by accident.
     */
    token: z.string().min(8, "must be at least 8 characters").optional(),
    /** HTTPS certificate and key files (docs/security.md, "Transport security"). */
    tls: httpTlsSchema.optional(),
    /** Serve plain HTTP on a non-loopback host anyway (a warning at every start); never the default. */
    insecurePlainHttp: z.boolean().default(false),
    /** Let GET requests through without a token. */
    openReads: z.boolean().default(false),
  })
  .strict()
  .superRefine(refinePlainHttpBind)
  .default({});
export type RestConfig = z.output<typeof restConfigSchema>;
