import { sharedSecret, verifyNodePayload, type CurveKeyPair } from "@openiotfog/shared";
import type { FleetIdentity } from "./fleet-identity";

/** Shared secrets kept (one per node and fleet key); past this the cache starts over. */
const MAX_CACHED_SECRETS = 20000;

/**
 * The fleet view's defence in depth (docs/security.md, "MQTT"): a message on a node's discovery topics counts
 * only if it carries that node's MAC, keyed with the X25519 secret of the node's *enrolled* key and the fleet key
 * (the current one, or the previous one while a rotation is under way). A client that can publish on the broker
 * without being the node (a broker without ACLs, leaked broker credentials) cannot add, change or remove it.
 */
export class FleetMessageVerifier {
  private readonly secrets = new Map<string, Buffer>();

  constructor(private readonly identity: () => FleetIdentity) {}

  private secret(fleet: CurveKeyPair, nodeKey: string): Buffer {
    const id = `${fleet.publicKey}:${nodeKey}`;
    let s = this.secrets.get(id);
    if (s === undefined) {
      if (this.secrets.size >= MAX_CACHED_SECRETS) this.secrets.clear();
      s = sharedSecret(fleet, nodeKey);
      this.secrets.set(id, s);
    }
    return s;
  }

  /** True if `raw` (a payload as received) was signed by the enrolled, not revoked node `nodeId`. */
  authenticate(kind: string, nodeId: string, raw: Record<string, unknown>): boolean {
    const identity = this.identity();
    const node = identity.node(nodeId);
    if (node === undefined) return false;
    const keys = [identity.fleetKey, identity.previousFleetKey].filter(
      (k): k is CurveKeyPair => k !== undefined,
    );
    return verifyNodePayload(
      kind,
      raw,
      keys.map((k) => this.secret(k, node.publicKey)),
    );
  }
}
