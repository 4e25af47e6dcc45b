import { EventEmitter } from "node:events";
import { randomBytes } from "node:crypto";
import { mkdirSync, statSync } from "node:fs";
import path from "node:path";
import {
  IotFogError,
  RefusalLog,
  curveKeyPairSchema,
  generateKeyPair,
  keyFingerprint,
  mqttFleetCredentialsSchema,
  readSecretJson,
  NodeMessageSigner,
  trustSchema,
  verifyTrust,
  writeSecretJson,
  type Component,
  type CurveKeyPair,
  type Logger,
  type MqttFleetCredentials,
  type NodeTopicKind,
  type Trust,
  type ZapPolicy,
} from "@openiotfog/shared";

export const NODE_KEY_FILE = "node-key.json";
export const TRUST_FILE = "trust.json";
export const MQTT_CREDENTIALS_FILE = "mqtt.json";

/** The node's own key pair: read if present, else made and written (mode 600). The secret never leaves it. */
export async function ensureNodeKeyPair(dir: string): Promise<CurveKeyPair> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = path.join(dir, NODE_KEY_FILE);
  const existing = readSecretJson(file, curveKeyPairSchema);
  if (existing !== undefined) return existing;
  const pair = generateKeyPair();
  await writeSecretJson(file, pair);
  return pair;
}

/** Keeps the MQTT user, password and fleet CA the driver gave at enrollment (mode 600). */
export async function writeMqttCredentials(dir: string, credentials: MqttFleetCredentials): Promise<void> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  await writeSecretJson(path.join(dir, MQTT_CREDENTIALS_FILE), credentials);
}

/** Writes the trust list the driver gave at enrollment (or a later update) into the node's security dir. */
export async function writeTrust(dir: string, trust: Trust): Promise<void> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  await writeSecretJson(path.join(dir, TRUST_FILE), trust);
}

export interface NodeSecurityOptions {
  nodeId: string;
  mode: "curve" | "insecure";
  dir: string;
}

/**
 * The agent's side of fleet security: its key pair, whom it trusts (the fleet key(s) and enrolled peers), and
 * the ZAP policies of its CURVE sockets. ZAP judges every new connection against the list in force; emits
 * `revoked` when a trust update drops keys (the forwarder closes its clients to dropped peers).
 */
export class NodeSecurity extends EventEmitter implements Component {
  readonly name = "node-security";
  private pair: CurveKeyPair | undefined;
  private current: Trust | undefined;
  private trustStamp = "";
  private readonly refusalLogs: RefusalLog[] = [];
  private readonly signer = new NodeMessageSigner(
    () => this.keys,
    () => this.trust?.fleetKeys[0],
  );

  constructor(
    private readonly opts: NodeSecurityOptions,
    private readonly logger: Logger,
  ) {
    super();
  }

  get enabled(): boolean {
    return this.opts.mode === "curve";
  }

  async start(): Promise<void> {
    if (!this.enabled) {
      this.logger.warn(
        "SECURITY OFF (security.mode: insecure): ZeroMQ sockets accept anyone who can reach them; loopback only",
      );
      return;
    }
    const file = path.join(this.opts.dir, NODE_KEY_FILE);
    this.pair = readSecretJson(file, curveKeyPairSchema);
    this.reloadTrust();
    if (this.pair === undefined || this.current === undefined) {
      throw new IotFogError(
        "CONFIG_INVALID",
        `node ${this.opts.nodeId} is not enrolled in a fleet (no ${this.pair === undefined ? file : path.join(this.opts.dir, TRUST_FILE)}): ` +
          "join with `iotfog agent --config <file> --join <token> --server <fleet API URL>` " +
          "(a token from `iotfog fleet token create` on the driver side)",
      );
    }
    this.logger.info("security: CurveZMQ on, enrolled", {
      nodeKey: keyFingerprint(this.pair.publicKey),
      fleetKeys: this.current.fleetKeys.map(keyFingerprint),
      peers: this.current.peers.length,
    });
  }

  async stop(): Promise<void> {}

  /** The node's key pair (security on). */
  get keys(): CurveKeyPair {
    if (this.pair === undefined) throw new IotFogError("INTERNAL", "node security is not started");
    return this.pair;
  }

  /** The trust list in force, re-read when trust.json changed on disk. */
  get trust(): Trust | undefined {
    this.reloadTrust();
    return this.current;
  }

  /** The MQTT credentials and fleet CA from enrollment (security on), or undefined (enrolled by an older driver). */
  mqttCredentials(): MqttFleetCredentials | undefined {
    if (!this.enabled) return undefined;
    return readSecretJson(path.join(this.opts.dir, MQTT_CREDENTIALS_FILE), mqttFleetCredentialsSchema);
  }

  /**
   * Adds the node's MAC to a discovery payload (security on): the fleet view believes only signed messages of
   * enrolled nodes (docs/security.md, "MQTT").
   */
  signMqtt(kind: NodeTopicKind, payload: Record<string, unknown>): Record<string, unknown> {
    return this.enabled && this.pair !== undefined ? this.signer.sign(kind, payload) : payload;
  }

  /** The enrolled public key of a peer, from the driver's trust list (never from its MQTT presence). */
  peerKey(nodeId: string): string | undefined {
    return this.trust?.peers.find((p) => p.nodeId === nodeId)?.publicKey;
  }

  /** Clients refused so far, by every CURVE socket of this node. */
  get refusals(): number {
    return this.refusalLogs.reduce((n, l) => n + l.total, 0);
  }

  /** A fresh ZAP domain for one socket of this node. */
  domain(part: string): string {
    return `iotfog.${this.opts.nodeId}.${part}.${randomBytes(4).toString("hex")}`;
  }

  /** The ZAP policy of one socket: the fleet's keys and enrolled peers', re-read per handshake. */
  policy(what: string): ZapPolicy {
    const log = new RefusalLog(this.logger, what);
    this.refusalLogs.push(log);
    return {
      allows: (key) => {
        const trust = this.trust;
        if (trust === undefined) return false;
        return trust.fleetKeys.includes(key) || trust.peers.some((p) => p.publicKey === key);
      },
      refused: (r) => log.record(r),
    };
  }

  /** A trust.update from the driver: checked against the fleet keys in force, then kept and applied. */
  async update(trust: Trust, mac: string): Promise<Trust> {
    const before = this.trust;
    if (before === undefined || this.pair === undefined)
      throw new IotFogError("UNAVAILABLE", "security is off on this node: no trust list to update");
    const pair = this.pair;
    if (!before.fleetKeys.some((k) => verifyTrust(trust, mac, pair, k))) {
      throw new IotFogError("UNAUTHORIZED", "trust.update: not signed by a fleet key this node trusts");
    }
    if (trust.issuedAt < before.issuedAt) return before;
    await writeTrust(this.opts.dir, trust);
    this.current = trust;
    this.trustStamp = this.stampOf();
    this.announceChange(before, trust);
    return trust;
  }

  private announceChange(before: Trust, after: Trust): void {
    const kept = new Set([...after.fleetKeys, ...after.peers.map((p) => p.publicKey)]);
    const dropped = [...before.fleetKeys, ...before.peers.map((p) => p.publicKey)].filter(
      (k) => !kept.has(k),
    );
    this.logger.info("trust list updated", {
      fleetKeys: after.fleetKeys.map(keyFingerprint),
      peers: after.peers.length,
      dropped: dropped.map(keyFingerprint),
    });
    if (dropped.length > 0) this.emit("revoked", dropped);
  }

  private stampOf(): string {
    try {
      const st = statSync(path.join(this.opts.dir, TRUST_FILE));
      return `${st.mtimeMs}:${st.size}:${st.ino}`;
    } catch {
      return "";
    }
  }

  private reloadTrust(): void {
    if (!this.enabled) return;
    const stamp = this.stampOf();
    if (stamp === this.trustStamp) return;
    const before = this.current;
    this.current = readSecretJson(path.join(this.opts.dir, TRUST_FILE), trustSchema);
    this.trustStamp = stamp;
    if (before !== undefined && this.current !== undefined) this.announceChange(before, this.current);
  }
}
