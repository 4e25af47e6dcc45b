import { z } from "zod";

/**
 * `security:` section of the agent config (docs/security.md). `curve` (the default): every ZeroMQ socket the
 * agent binds for the network speaks CurveZMQ and admits only the fleet's and enrolled peers' keys.
 * `insecure`: plain ZeroMQ, allowed only on loopback binds, and every start says so.
 */
export const agentSecurityConfigSchema = z
  .object({
    mode: z.enum(["curve", "insecure"]).default("curve"),
    /** The node's key pair (node-key.json) and trust list (trust.json); default `<dataDir>/security`. */
    dir: z.string().min(1).optional(),
  })
  .strict()
  .default({});
export type AgentSecurityConfig = z.output<typeof agentSecurityConfigSchema>;

/** True for addresses only this machine can reach: ipc://, and tcp:// on 127.0.0.0/8, ::1 or localhost. */
export function isLoopbackAddress(address: string): boolean {
  if (address.startsWith("ipc://") || address.startsWith("inproc://")) return true;
  const m = /^tcp:\/\/(\[[^\]]+\]|[^:]+):/.exec(address);
  const host = m?.[1];
  if (host === undefined) return false;
  return host === "localhost" || host === "[::1]" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}
