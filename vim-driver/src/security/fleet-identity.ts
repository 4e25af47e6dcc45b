import { EventEmitter } from "node:events";
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { mkdirSync, statSync } from "node:fs";
import path from "node:path";
import { z } from "zod";
import {
  IotFogError,
  curveKeySchema,
  generateKeyPair,
  keyPin,
  nodeIdSchema,
  readSecretJson,
  signTrust,
  writeSecretJson,
  formatJoinToken,
  parseJoinToken,
  type CurveKeyPair,
  type EnrollmentRequest,
  type EnrollmentResponse,
  type MqttFleetCredentials,
  type Trust,
} from "@openiotfog/shared";
import {
  ensureMqttAuthority,
  mosquittoPasswordHash,
  newMqttPassword,
  readDriverMqttCredentials,
  readMqttCaCert,
} from "./mqtt-authority";

const epochMs = z.number().int().nonnegative();
const keyRecord = z
  .object({ publicKey: curveKeySchema, secretKey: curveKeySchema, createdAt: epochMs })
  .strict();
const fleetKeyFileSchema = z.object({ current: keyRecord, previous: keyRecord.optional() }).strict();

/** One enrolled node. */
export const enrolledNodeSchema = z
  .object({
    publicKey: curveKeySchema,
    /** Hash of the node's MQTT password (Mosquitto's `$7$` format); its user name is the node id. */
    mqttPasswordHash: z.string().min(1).max(300).optional(),
    enrolledAt: epochMs,
    revokedAt: epochMs.optional(),
    /** The fleet public key this node is known to admit (the one its last trust list was signed with). */
    admitsFleetKey: curveKeySchema.optional(),
  })
  .strict();
export type EnrolledNode = z.infer<typeof enrolledNodeSchema>;
const nodesFileSchema = z
  .object({ nodes: z.record(nodeIdSchema, enrolledNodeSchema), changedAt: epochMs })
  .strict();
type NodesFile = z.infer<typeof nodesFileSchema>;

const tokenRecord = z
  .object({
    id: z.string().regex(/^[a-f0-9]{16}$/),
    /** sha256 of the token's secret part: the file alone cannot be used to join. */
    secretSha256: z.string().regex(/^[a-f0-9]{64}$/),
    createdAt: epochMs,
    expiresAt: epochMs,
    usesLeft: z.number().int().nonnegative(),
  })
  .strict();
export type JoinTokenRecord = z.infer<typeof tokenRecord>;
const tokensFileSchema = z.object({ tokens: z.array(tokenRecord) }).strict();

export const FLEET_KEY_FILE = "fleet-key.json";
export const NODES_FILE = "nodes.json";
export const TOKENS_FILE = "join-tokens.json";

export interface CreatedToken {
  token: string;
  id: string;
  expiresAt: number;
  uses: number;
}

const sha256 = (s: string): string => createHash("sha256").update(s).digest("hex");

/**
 * The fleet's identity, owned by the driver side: the fleet's CurveZMQ key pair (and the previous one while a
 * rotation is under way), the enrolled nodes with their public keys, and the join tokens (stored hashed). All
 * of it lives in one directory of mode-600 files written atomically. Another process may write the same files
 * (the CLI offline, test helpers): every read first picks up a change on disk.
 */
export class FleetIdentity extends EventEmitter {
  private keys!: z.infer<typeof fleetKeyFileSchema>;
  private nodesDoc: NodesFile = { nodes: {}, changedAt: 0 };
  private tokens: JoinTokenRecord[] = [];
  private readonly stamps = new Map<string, string>();
  private writes: Promise<void> = Promise.resolve();

  private constructor(readonly dir: string) {
    super();
  }

  /** Opens the fleet identity in `dir`, creating the fleet key pair on first use (`iotfog fleet init`). */
  static async open(dir: string): Promise<{ identity: FleetIdentity; created: boolean }> {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const identity = new FleetIdentity(path.resolve(dir));
    const keys = readSecretJson(identity.file(FLEET_KEY_FILE), fleetKeyFileSchema);
    let created = false;
    if (keys === undefined) {
      identity.keys = { current: { ...generateKeyPair(), createdAt: Date.now() } };
      await writeSecretJson(identity.file(FLEET_KEY_FILE), identity.keys);
      created = true;
    } else identity.keys = keys;
    identity.stamps.set(FLEET_KEY_FILE, identity.stampOf(FLEET_KEY_FILE));
    await ensureMqttAuthority(identity.dir);
    identity.refresh();
    return { identity, created };
  }

  private file(name: string): string {
    return path.join(this.dir, name);
  }

  private stampOf(name: string): string {
    try {
      const st = statSync(this.file(name));
      return `${st.mtimeMs}:${st.size}:${st.ino}`;
    } catch {
      return "";
    }
  }

  /** Re-reads whichever file another writer changed. */
  refresh(): void {
    const changed = (name: string): boolean => {
      const stamp = this.stampOf(name);
      if (stamp === this.stamps.get(name)) return false;
      this.stamps.set(name, stamp);
      return true;
    };
    let any = false;
    if (changed(FLEET_KEY_FILE)) {
      const keys = readSecretJson(this.file(FLEET_KEY_FILE), fleetKeyFileSchema);
      if (keys !== undefined) this.keys = keys;
      any = true;
    }
    if (changed(NODES_FILE)) {
      this.nodesDoc = readSecretJson(this.file(NODES_FILE), nodesFileSchema) ?? { nodes: {}, changedAt: 0 };
      any = true;
    }
    if (changed(TOKENS_FILE))
      this.tokens = readSecretJson(this.file(TOKENS_FILE), tokensFileSchema)?.tokens ?? [];
    if (any) this.emit("changed");
  }

  /** The fleet key pair clients connect with. */
  get fleetKey(): CurveKeyPair {
    this.refresh();
    return { publicKey: this.keys.current.publicKey, secretKey: this.keys.current.secretKey };
  }

  /** The key pair before the last rotation, kept until every enrolled node admits the new one. */
  get previousFleetKey(): CurveKeyPair | undefined {
    this.refresh();
    const p = this.keys.previous;
    return p === undefined ? undefined : { publicKey: p.publicKey, secretKey: p.secretKey };
  }

  /** The fleet's MQTT CA certificate (PEM). */
  get mqttCaCert(): string | undefined {
    return readMqttCaCert(this.dir);
  }

  /** The driver's MQTT user and password, with the fleet CA (docs/security.md, "MQTT"). */
  get driverMqttCredentials(): MqttFleetCredentials | undefined {
    return readDriverMqttCredentials(this.dir);
  }

  /** What a join token pins: the current fleet public key's sha256. */
  get pin(): string {
    return keyPin(this.fleetKey.publicKey);
  }

  /** Every node ever enrolled (revoked ones included, with revokedAt). */
  nodes(): Record<string, EnrolledNode> {
    this.refresh();
    return { ...this.nodesDoc.nodes };
  }

  /** An enrolled, not revoked node's record. */
  node(nodeId: string): EnrolledNode | undefined {
    const n = this.nodes()[nodeId];
    return n === undefined || n.revokedAt !== undefined ? undefined : n;
  }

  /** The key pair to reach `nodeId` with: the fleet key it is known to admit (the previous one mid-rotation). */
  keyFor(nodeId: string): CurveKeyPair {
    const admits = this.node(nodeId)?.admitsFleetKey;
    const previous = this.previousFleetKey;
    return previous !== undefined && admits === previous.publicKey ? previous : this.fleetKey;
  }

  /** The trust list for one node: the fleet key(s) and every other enrolled node's key. */
  trustFor(nodeId: string): Trust {
    this.refresh();
    const fleetKeys = [this.keys.current.publicKey];
    if (this.keys.previous !== undefined) fleetKeys.push(this.keys.previous.publicKey);
    const peers = Object.entries(this.nodesDoc.nodes)
      .filter(([id, n]) => id !== nodeId && n.revokedAt === undefined)
      .map(([id, n]) => ({ nodeId: id, publicKey: n.publicKey }))
      .sort((a, b) => a.nodeId.localeCompare(b.nodeId));
    const issuedAt = Math.max(this.nodesDoc.changedAt, this.keys.current.createdAt);
    return { fleetKeys, peers, issuedAt };
  }

  /** A trust list with its MAC, signed with the fleet key `nodeId` admits now. */
  signedTrustFor(nodeId: string): { trust: Trust; mac: string; signedWith: string } | undefined {
    const node = this.node(nodeId);
    if (node === undefined) return undefined;
    const trust = this.trustFor(nodeId);
    const key = this.keyFor(nodeId);
    return { trust, mac: signTrust(trust, key, node.publicKey), signedWith: key.publicKey };
  }

  /** Serialises changes in this process; each starts from what is on disk. */
  private mutate<T>(change: () => T, files: string[]): Promise<T> {
    const run = this.writes.then(async () => {
      this.refresh();
      const out = change();
      for (const name of files) {
        const doc =
          name === NODES_FILE ? this.nodesDoc : name === TOKENS_FILE ? { tokens: this.tokens } : this.keys;
        await writeSecretJson(this.file(name), doc);
        this.stamps.set(name, this.stampOf(name));
      }
      this.emit("changed");
      return out;
    });
    this.writes = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  private touchNodes(): void {
    this.nodesDoc.changedAt = Math.max(Date.now(), this.nodesDoc.changedAt + 1);
  }

  /** A join token: usable `uses` times until `ttlMs` from now; only its hash is kept. */
  createToken(opts: { ttlMs: number; uses: number }): Promise<CreatedToken> {
    return this.mutate(() => {
      const now = Date.now();
      this.tokens = this.tokens.filter((t) => t.expiresAt > now && t.usesLeft > 0);
      const id = randomBytes(8).toString("hex");
      const secret = randomBytes(20).toString("hex");
      const expiresAt = now + opts.ttlMs;
      this.tokens.push({ id, secretSha256: sha256(secret), createdAt: now, expiresAt, usesLeft: opts.uses });
      return { token: formatJoinToken({ pin: this.pin, id, secret }), id, expiresAt, uses: opts.uses };
    }, [TOKENS_FILE]);
  }

  /** Tokens still usable (without their secrets, which are not kept). */
  listTokens(): Array<Omit<JoinTokenRecord, "secretSha256">> {
    this.refresh();
    const now = Date.now();
    return this.tokens
      .filter((t) => t.expiresAt > now && t.usesLeft > 0)
      .map(({ id, createdAt, expiresAt, usesLeft }) => ({ id, createdAt, expiresAt, usesLeft }));
  }

  /**
   * Enrolls (or re-enrolls) a node: the token must be well-formed, pin the current fleet key, be known, unexpired
   * and not used up. The node's public key is recorded; the answer is what the node needs to take part.
   */
  enroll(request: EnrollmentRequest): Promise<EnrollmentResponse> {
    return this.mutate(() => {
      const parsed = parseJoinToken(request.token);
      const refused = (why: string): IotFogError =>
        new IotFogError("UNAUTHORIZED", `join token refused: ${why}`);
      if (parsed.pin !== this.pin) throw refused("it was made for another fleet key (create a new token)");
      const now = Date.now();
      const record = this.tokens.find((t) => t.id === parsed.id);
      const given = Buffer.from(sha256(parsed.secret), "hex");
      if (record === undefined || !timingSafeEqual(given, Buffer.from(record.secretSha256, "hex")))
        throw refused("unknown token");
      if (record.expiresAt <= now) throw refused("expired");
      if (record.usesLeft <= 0) throw refused("already used");
      const existing = this.nodesDoc.nodes[request.nodeId];
      const revokedKey = Object.values(this.nodesDoc.nodes).some(
        (n) => n.publicKey === request.publicKey && n.revokedAt !== undefined,
      );
      if (revokedKey)
        throw new IotFogError("UNAUTHORIZED", "this public key was revoked: generate a new key pair");
      const otherOwner = Object.entries(this.nodesDoc.nodes).find(
        ([id, n]) => id !== request.nodeId && n.publicKey === request.publicKey && n.revokedAt === undefined,
      );
      if (otherOwner !== undefined)
        throw new IotFogError("CONFLICT", `this public key is enrolled as node ${otherOwner[0]}`);
      record.usesLeft -= 1;
      this.tokens = this.tokens.filter((t) => t.usesLeft > 0 && t.expiresAt > now);
      // A new MQTT password at every enrollment: a re-enrolled node's old one stops working.
      const mqttPassword = newMqttPassword();
      this.nodesDoc.nodes[request.nodeId] = {
        publicKey: request.publicKey,
        mqttPasswordHash: mosquittoPasswordHash(mqttPassword),
        enrolledAt: now,
        admitsFleetKey: this.keys.current.publicKey,
      };
      this.touchNodes();
      const caCert = this.mqttCaCert;
      return {
        nodeId: request.nodeId,
        reenrolled: existing !== undefined,
        fleetKey: this.keys.current.publicKey,
        trust: this.trustFor(request.nodeId),
        mqtt: {
          username: request.nodeId,
          password: mqttPassword,
          ...(caCert === undefined ? {} : { caCert }),
        },
      };
    }, [TOKENS_FILE, NODES_FILE]);
  }

  /** Revokes a node: its key leaves every trust list; it must enroll again (new key, new token) to return. */
  revoke(nodeId: string): Promise<EnrolledNode> {
    return this.mutate(() => {
      const node = this.nodesDoc.nodes[nodeId];
      if (node === undefined) throw new IotFogError("NOT_FOUND", `node "${nodeId}" is not enrolled`);
      if (node.revokedAt === undefined) {
        node.revokedAt = Date.now();
        this.touchNodes();
      }
      return node;
    }, [NODES_FILE]);
  }

  /** Records that `nodeId` admits the fleet key `publicKey` (its trust list signed with it was accepted). */
  markAdmits(nodeId: string, publicKey: string): Promise<void> {
    return this.mutate(() => {
      const node = this.nodesDoc.nodes[nodeId];
      if (node !== undefined) node.admitsFleetKey = publicKey;
    }, [NODES_FILE]);
  }

  /** Starts a rotation: a new current key; the old one stays as previous until finishRotation. */
  rotate(): Promise<{ publicKey: string; previous: string }> {
    return this.mutate(() => {
      if (this.keys.previous !== undefined)
        throw new IotFogError(
          "CONFLICT",
          "a rotation is still under way: some nodes have not been reached yet",
        );
      const previous = this.keys.current;
      this.keys = {
        current: { ...generateKeyPair(), createdAt: Math.max(Date.now(), this.nodesDoc.changedAt + 1) },
        previous,
      };
      return { publicKey: this.keys.current.publicKey, previous: previous.publicKey };
    }, [FLEET_KEY_FILE]);
  }

  /** Ends a rotation: the previous key is forgotten (nodes still on it must enroll again). */
  finishRotation(): Promise<void> {
    return this.mutate(() => {
      const { current } = this.keys;
      this.keys = { current: { ...current, createdAt: Math.max(Date.now(), current.createdAt + 1) } };
    }, [FLEET_KEY_FILE]);
  }
}
