import { createHmac, timingSafeEqual } from "node:crypto";
import { sharedSecret, type CurveKeyPair } from "./keys";

/**
 * JSON with every object's keys sorted, so sender and receiver MAC the same bytes whatever order a parser or
 * a schema gave the fields.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        )
      : v,
  );
}

const macOf = (secret: Buffer, kind: string, body: Record<string, unknown>): Buffer =>
  createHmac("sha256", secret)
    .update(`${kind}\n${canonicalJson(body)}`)
    .digest();

const withoutMac = (payload: Record<string, unknown>): Record<string, unknown> => {
  const { mac: _mac, ...rest } = payload;
  return rest;
};

/**
 * Signs what a node publishes on its discovery topics (presence, capabilities, heartbeat, events): an
 * HMAC-SHA256 over the topic kind and the canonical payload, keyed with the X25519 secret the node's key and
 * the fleet key share (the key trust lists are authenticated with). Only the enrolled node and the fleet's
 * driver can compute it, so the fleet view can tell the node's messages from anyone else's on the broker.
 */
export class NodeMessageSigner {
  private secret: { fleetKey: string; bytes: Buffer } | undefined;

  constructor(
    private readonly own: () => CurveKeyPair,
    /** The fleet key to sign for: the first of the node's trust list (the current one during a rotation). */
    private readonly fleetKey: () => string | undefined,
  ) {}

  sign<T extends Record<string, unknown>>(kind: string, payload: T): T & { mac?: string } {
    const fleetKey = this.fleetKey();
    if (fleetKey === undefined) return payload;
    if (this.secret?.fleetKey !== fleetKey)
      this.secret = { fleetKey, bytes: sharedSecret(this.own(), fleetKey) };
    return { ...payload, mac: macOf(this.secret.bytes, kind, withoutMac(payload)).toString("hex") };
  }
}

/** True if `payload.mac` is the MAC of the rest under one of `secrets` (constant-time comparison). */
export function verifyNodePayload(
  kind: string,
  payload: Record<string, unknown>,
  secrets: Buffer[],
): boolean {
  const mac = payload.mac;
  if (typeof mac !== "string" || !/^[a-f0-9]{64}$/.test(mac)) return false;
  const given = Buffer.from(mac, "hex");
  const body = withoutMac(payload);
  return secrets.some((s) => timingSafeEqual(given, macOf(s, kind, body)));
}
