import type { Json } from "./messages";
import type { FogSpec } from "../openbaton/fog-spec";

/**
 * What the VNF manager needs from the outside world, as interfaces so its state machine is tested with real
 * messages and no broker (vnfm-manager.test.ts) and wired to AMQP and the fleet in production.
 */

/** The NFVO side: RPC on `vnfm.nfvo.actions.reply`, one-way on `vnfm.nfvo.actions`. */
export interface NfvoPort {
  /** Sends a VNFM→NFVO message and resolves with the NFVO's JSON answer. */
  call(message: Json): Promise<Json>;
  /** Sends a VNFM→NFVO message that has no answer (asynchronous ERROR, status updates). */
  notify(message: Json): Promise<void>;
}

/** A VNFC's container as the fleet sees it. `vcId` is the driver's `Server.extId` (the NFVO's `vc_id`). */
export interface VnfcStatus {
  vcId: string;
  /** Open Baton state: ACTIVE when the container runs. */
  state: "ACTIVE" | "INACTIVE" | "ERROR";
  nodeId?: string;
  detail?: string;
}

/** What the fog needs to know to (re-)create one VNFC the way the driver first launched it. */
export interface VnfcHandle {
  /** The driver's `Server.extId`, the NFVO's `vc_id`. */
  vcId: string;
  /** The hostname the NFVO chose (`<vnfr name>-<n>`); other VNFs know the VNFC by it. */
  hostname: string;
  /** The VDU's `vm_image` tags. */
  images: string[];
  /** The VNFC's connection points, as the NFVO passed them to launchInstanceAndWait. */
  networks: Json[];
  /** The fog spec the VNFC was launched with (undefined: launched without one). */
  spec: FogSpec | undefined;
  /** The VIM instance the VNFC runs on, when known. */
  vim?: Json;
}

/** Operations on VNFC containers that the driver placed through the agents. */
export interface FogPort {
  /**
   * Makes the VNFC's container run with `env` added to the environment its spec gave it (dependency values
   * arriving with MODIFY): the container is re-created on the same node with the same spec plus `env`. Resolves
   * once it runs; the answer's `vcId` is the new extId, which the VNFM reports back to the NFVO.
   */
  applyEnv(vnfc: VnfcHandle, env: Record<string, string>): Promise<VnfcStatus>;
  start(vcId: string): Promise<VnfcStatus>;
  stop(vcId: string): Promise<VnfcStatus>;
  /** Starts the container again where it is, or places it anew (same spec and env) when its node is gone. */
  heal(vnfc: VnfcHandle, env: Record<string, string>): Promise<VnfcStatus>;
  /** Removes the container wherever it is; idempotent. */
  remove(vcId: string): Promise<void>;
  status(vcId: string): Promise<VnfcStatus>;
}

/** Something that went wrong under a running VNFC, reported by the fleet (node lost, device detached). */
export interface FogFault {
  /** `not-replaced`: the VNFC's node is lost and the fleet cannot place it elsewhere (`autoHeal`). */
  kind: "node-lost" | "device-removed" | "container-failed" | "not-replaced";
  nodeId: string;
  /** VNFCs (extIds) affected; empty means "whatever runs on the node". */
  vcIds: string[];
  detail: string;
}

/** Builds the `userdata` string for ALLOCATE_RESOURCES / SCALING from the translated specs. */
export type UserdataEncoder = (input: {
  vnfr: Json;
  /** One spec per VDU, keyed by the VDU's label (its name, else parent VDU id), with the images it may use. */
  vdus: Array<{ label: string; images: string[]; spec: FogSpec }>;
}) => string;

/** Where a VNFC runs, as the driver's `Server` for it says (listServer): what the NFVO's VNFC instance holds. */
export interface VnfcPlacement {
  vcId: string;
  nodeId: string;
  hostname: string;
  state: VnfcStatus["state"];
  /** Virtual link → addresses (the NFVO takes the first). */
  ips: Record<string, string[]>;
  /** Where other fog nodes reach the node: the address of a link the Server does not list (after a restart). */
  address: string;
  floatingIps: Record<string, string>;
}

/** A VNFC the fleet's reconciler placed again on another node by itself (`on_node_loss: replace`). */
export interface VnfcMove {
  /** The vc_id it had. */
  from: string;
  to: VnfcPlacement;
}
