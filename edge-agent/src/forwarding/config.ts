import { z } from "zod";
import { DEFAULT_HOP_LIMIT } from "./decide";

/** `forwarding:` section of the agent config. */
export const forwardingConfigSchema = z
  .object({
    /** Hand deploys this node cannot satisfy to a peer, when the request allows it. */
    enabled: z.boolean().default(true),
    /** Default and maximum forwards for a request (a request may ask for fewer, never more). */
    hopLimit: z.number().int().min(1).max(16).default(DEFAULT_HOP_LIMIT),
    /** How long a forwarded deploy may take on the peer (image start included). */
    timeoutMs: z.number().int().min(100).default(30000),
  })
  .strict()
  .default({});
export type ForwardingConfig = z.output<typeof forwardingConfigSchema>;
