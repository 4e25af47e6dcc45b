import { createHmac, timingSafeEqual } from "node:crypto";
import { z } from "zod";
import { curveKeySchema, sharedSecret, type CurveKeyPair } from "./keys";

export const nodeIdSchema = z
  .string()
  .regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/, "must be 1-63 letters, digits, '.', '_' or '-'");

/**
 * What a node trusts: the fleet's public key(s) (two while a rotation is under way) and the enrolled peers'
 * keys, which its ZAP handler admits and its forwarder connects with. Sent by the driver at enrollment and in
 * every `trust.update`.
 */
export const trustSchema = z
  .object({
    fleetKeys: z.array(curveKeySchema).min(1).max(2),
    peers: z.array(z.object({ nodeId: nodeIdSchema, publicKey: curveKeySchema }).strict()).max(10000),
    /** When the driver issued this list (epoch ms); an older list never replaces a newer one. */
    issuedAt: z.number().int().nonnegative(),
  })
  .strict();
export type Trust = z.infer<typeof trustSchema>;

const canonical = (trust: Trust): string =>
  JSON.stringify({ fleetKeys: trust.fleetKeys, peers: trust.peers, issuedAt: trust.issuedAt });

/**
 * Authenticates a trust list from the driver to one node: HMAC-SHA256 keyed with the X25519 secret the fleet
 * key and the node key share. Enrolled peers reach the command endpoint too (forwarding); the MAC is what makes
 * a trust.update the driver's alone.
 */
export function signTrust(trust: Trust, fleet: CurveKeyPair, nodePublicKey: string): string {
  return createHmac("sha256", sharedSecret(fleet, nodePublicKey)).update(canonical(trust)).digest("hex");
}

/** True if `mac` was made by the holder of `fleetPublicKey`'s secret for this node. */
export function verifyTrust(trust: Trust, mac: string, node: CurveKeyPair, fleetPublicKey: string): boolean {
  const expected = createHmac("sha256", sharedSecret(node, fleetPublicKey)).update(canonical(trust)).digest();
  const given = Buffer.from(mac, "hex");
  return given.length === expected.length && timingSafeEqual(given, expected);
}
