import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { keyFingerprint, type Component, type Logger } from "@openiotfog/shared";
import { MQTT_CREDENTIALS_FILE, NODE_KEY_FILE, TRUST_FILE, joinFleet } from "@openiotfog/edge-agent";
import { FleetIdentity } from "@openiotfog/vim-driver";

export interface LocalEnrollmentOptions {
  /** The driver's security.dir. */
  fleetDir: string;
  nodeId: string;
  /** The local agent's security.dir. */
  nodeDir: string;
  logger: Logger;
}

/**
 * True if the node's key in `nodeDir` is the one the fleet has enrolled for `nodeId`, and it has a trust list and
 * MQTT credentials (a node enrolled before MQTT credentials existed enrolls again, keeping its key).
 */
function alreadyEnrolled(identity: FleetIdentity, nodeId: string, nodeDir: string): boolean {
  const keyFile = path.join(nodeDir, NODE_KEY_FILE);
  const files = [keyFile, path.join(nodeDir, TRUST_FILE), path.join(nodeDir, MQTT_CREDENTIALS_FILE)];
  if (!files.every((f) => existsSync(f))) return false;
  const { publicKey } = JSON.parse(readFileSync(keyFile, "utf8")) as { publicKey?: string };
  return identity.node(nodeId)?.publicKey === publicKey;
}

/**
 * `iotfog up` enrolls its own agent: a single-use token made and spent in this process, through the same join
 * code a remote node runs (its key pair made in its own directory, the pin checked). Nothing for the user to do.
 */
export class LocalEnrollment implements Component {
  readonly name = "local-enrollment";

  constructor(private readonly opts: LocalEnrollmentOptions) {}

  async start(): Promise<void> {
    const { identity } = await FleetIdentity.open(this.opts.fleetDir);
    if (alreadyEnrolled(identity, this.opts.nodeId, this.opts.nodeDir)) return;
    const { token } = await identity.createToken({ ttlMs: 60000, uses: 1 });
    const answer = await joinFleet({ token, nodeId: this.opts.nodeId, dir: this.opts.nodeDir }, (request) =>
      identity.enroll(request),
    );
    this.opts.logger.info("local agent enrolled in the fleet", {
      nodeId: answer.nodeId,
      fleetKey: keyFingerprint(answer.fleetKey),
    });
  }

  async stop(): Promise<void> {}
}
