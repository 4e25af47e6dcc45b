import { z } from "zod";
import { httpTlsSchema, refinePlainHttpBind } from "@openiotfog/shared";

/** The `api` section of the driver configuration: where the fleet REST API and the GUI listen. */
export const apiConfigSchema = z
  .object({
    /** Off unless asked for (`iotfog up` turns it on), so tests and Open-Baton-only drivers open no port. */
    enabled: z.boolean().default(false),
    /** 127.0.0.1 by default: any other address needs `tls` (or the explicit `insecurePlainHttp`). */
    host: z.string().min(1).default("127.0.0.1"),
    port: z.number().int().min(0).max(65535).default(7080),
    /** Bearer token; when unset the token in tokenFile is used, or a random one is written there. */
    token: z.string().min(16, "must be at least 16 characters").optional(),
    tokenFile: z.string().min(1).default(".iotfog/api-token"),
    /** HTTPS certificate and key files (docs/security.md, "Transport security"). */
    tls: httpTlsSchema.optional(),
    /** Serve plain HTTP on a non-loopback host anyway (a warning at every start); never the default. */
    insecurePlainHttp: z.boolean().default(false),
    /** Serve the web GUI at / (same port). */
    gui: z.boolean().default(true),
  })
  .strict()
  .superRefine(refinePlainHttpBind)
  .default({});
export type ApiConfig = z.output<typeof apiConfigSchema>;
