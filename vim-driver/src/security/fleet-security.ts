import {
  IotFogError,
  errorMessage,
  keyFingerprint,
  type Component,
  type CurveClientKeys,
  type Logger,
} from "@openiotfog/shared";
import { FleetIdentity } from "./fleet-identity";

export interface FleetSecurityOptions {
  mode: "curve" | "insecure";
  dir: string;
}

/**
 * The driver side's security component: opens (or creates) the fleet identity at start and answers which keys
 * reach a node. With `security.mode: insecure` there is no identity and every start line says so.
 */
export class FleetSecurity implements Component {
  readonly name = "fleet-security";
  private opened: FleetIdentity | undefined;

  constructor(
    readonly opts: FleetSecurityOptions,
    private readonly logger: Logger,
  ) {}

  get enabled(): boolean {
    return this.opts.mode === "curve";
  }

  async start(): Promise<void> {
    if (!this.enabled) {
      this.logger.warn(
        "SECURITY OFF (security.mode: insecure): agents are reached over plain ZeroMQ; loopback only",
      );
      return;
    }
    const { identity, created } = await FleetIdentity.open(this.opts.dir);
    this.opened = identity;
    const enrolled = Object.values(identity.nodes()).filter((n) => n.revokedAt === undefined).length;
    this.logger.info(created ? "fleet identity created" : "fleet identity loaded", {
      dir: identity.dir,
      fleetKey: keyFingerprint(identity.fleetKey.publicKey),
      enrolledNodes: enrolled,
      ...(identity.previousFleetKey === undefined ? {} : { rotation: "under way" }),
    });
  }

  async stop(): Promise<void> {}

  /** The fleet identity (security on, after start). */
  get identity(): FleetIdentity {
    if (this.opened === undefined) {
      throw new IotFogError(
        "UNAVAILABLE",
        this.enabled ? "the fleet identity is not open yet" : "security is off (security.mode: insecure)",
      );
    }
    return this.opened;
  }

  /**
   * The CurveZMQ keys to reach `nodeId`: the fleet key it admits and its public key from enrollment (never
   * from its MQTT presence). Undefined when security is off; UNAUTHORIZED for a node not enrolled or revoked.
   */
  clientKeys(nodeId: string): CurveClientKeys | undefined {
    if (!this.enabled) return undefined;
    const identity = this.identity;
    const node = identity.node(nodeId);
    if (node === undefined) {
      throw new IotFogError(
        "UNAUTHORIZED",
        `node "${nodeId}" is not enrolled in this fleet (or was revoked): it gets no commands; enroll it with a join token (iotfog fleet token create)`,
      );
    }
    return { ...identity.keyFor(nodeId), serverKey: node.publicKey };
  }

  /** Calls `listener` after every change of the identity (enrollment, revocation, rotation). */
  onChange(listener: () => void): () => void {
    if (!this.enabled) return () => undefined;
    const identity = this.identity;
    const safe = (): void => {
      try {
        listener();
      } catch (e) {
        this.logger.warn("fleet identity listener failed", { error: errorMessage(e) });
      }
    };
    identity.on("changed", safe);
    return () => identity.off("changed", safe);
  }
}
