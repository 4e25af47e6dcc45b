import type { Logger } from "@openiotfog/shared";
import type { FogPort, NfvoPort, UserdataEncoder } from "../ports";
import type { VnfrRepository } from "../repository";

/** What every action handler works with: the two ports, the userdata encoder, the records, a logger, the policy. */
export interface VnfmContext {
  nfvo: NfvoPort;
  fog: FogPort;
  encodeUserdata: UserdataEncoder;
  records: VnfrRepository;
  logger: Logger;
  /** `vnfm.autoHeal`: VNFCs are launched with `on_node_loss: replace` (the fleet re-places them). */
  autoHeal: boolean;
}

/** A failure the handler reports to the NFVO as an ERROR reply (the manager turns every throw into one). */
export class VnfmFailure extends Error {}

/** A fingerprint of an environment, to tell whether a container already runs with it. */
export function envKey(env: Record<string, string>): string {
  return JSON.stringify(Object.entries(env).sort(([a], [b]) => a.localeCompare(b)));
}
