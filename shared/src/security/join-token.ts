import { z } from "zod";
import { IotFogError } from "../errors";
import { mqttFleetCredentialsSchema } from "../mqtt/connection";
import { curveKeySchema } from "./keys";
import { nodeIdSchema, trustSchema } from "./trust";

/**
 * A join token, Swarm/k3s style: `IOTFOG-1-<pin>-<id>.<secret>`. The pin is the sha256 of the fleet public key,
 * so the joining node can check the key the driver answers with; the id names the stored record; the secret
 * is what the driver checks (it keeps only its hash).
 */
const TOKEN = /^IOTFOG-1-([a-f0-9]{64})-([a-f0-9]{16})\.([a-f0-9]{40})$/;

export interface JoinToken {
  pin: string;
  id: string;
  secret: string;
}

export function formatJoinToken(t: JoinToken): string {
  return `IOTFOG-1-${t.pin}-${t.id}.${t.secret}`;
}

export function parseJoinToken(text: string): JoinToken {
  const m = TOKEN.exec(text.trim());
  if (m === null || m[1] === undefined || m[2] === undefined || m[3] === undefined) {
    throw new IotFogError(
      "BAD_REQUEST",
      "not a join token: expected IOTFOG-1-<64 hex>-<16 hex>.<40 hex> (from `iotfog fleet token create`)",
    );
  }
  return { pin: m[1], id: m[2], secret: m[3] };
}

/** What a joining node sends (POST /api/v1/fleet/enroll): its id, its public key, and the token. */
export const enrollmentRequestSchema = z
  .object({
    token: z.string().min(1).max(200),
    nodeId: nodeIdSchema,
    publicKey: curveKeySchema,
  })
  .strict();
export type EnrollmentRequest = z.infer<typeof enrollmentRequestSchema>;

/**
 * What the driver answers: the fleet key, the node's trust list, and its MQTT credentials (user name = node id,
 * a password made for it) with the fleet's MQTT CA certificate. Designed to grow: fields a node does not know
 * are ignored.
 */
export const enrollmentResponseSchema = z
  .object({
    nodeId: nodeIdSchema,
    reenrolled: z.boolean(),
    fleetKey: curveKeySchema,
    trust: trustSchema,
    mqtt: mqttFleetCredentialsSchema.optional(),
  })
  .passthrough();
export type EnrollmentResponse = z.infer<typeof enrollmentResponseSchema>;
