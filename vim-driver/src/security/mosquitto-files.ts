import { copyFile, chmod, chown, mkdir, readFile, stat } from "node:fs/promises";
import path from "node:path";
import { IotFogError, errorMessage, writeFileAtomic, type Component, type Logger } from "@openiotfog/shared";
import type { FleetIdentity } from "./fleet-identity";
import {
  DRIVER_MQTT_USER,
  MQTT_CA_CERT_FILE,
  issueBrokerCertificate,
  mosquittoPasswordHash,
} from "./mqtt-authority";
import { mosquittoAcl, mosquittoConf, mosquittoPasswordFile } from "./mqtt-acl";

/**
 * Writes the broker's password file and ACL for the fleet: the driver and every enrolled, not revoked node
 * (mode 600, atomically). A revoked node's line is gone, so after the broker reloads it cannot log in.
 */
export async function writeMosquittoAuth(
  identity: FleetIdentity,
  dir: string,
  prefix: string,
): Promise<void> {
  const driver = identity.driverMqttCredentials;
  if (driver === undefined)
    throw new IotFogError("INTERNAL", "the fleet has no MQTT credentials for the driver");
  const entries = [{ username: DRIVER_MQTT_USER, hash: mosquittoPasswordHash(driver.password) }];
  for (const [nodeId, n] of Object.entries(identity.nodes()).sort(([a], [b]) => a.localeCompare(b))) {
    if (n.revokedAt === undefined && n.mqttPasswordHash !== undefined)
      entries.push({ username: nodeId, hash: n.mqttPasswordHash });
  }
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writeKeepingOwner(path.join(dir, "passwd"), mosquittoPasswordFile(entries));
  await writeKeepingOwner(path.join(dir, "acl"), mosquittoAcl({ prefix, driverUser: DRIVER_MQTT_USER }));
}

/**
 * Writes a file atomically (mode 600) and gives it the owner of the file it replaces: the broker's user must
 * still read it (`mqtt-config --user mosquitto` chowns the first ones).
 */
async function writeKeepingOwner(file: string, text: string): Promise<void> {
  const before = await stat(file).catch(() => undefined);
  await writeFileAtomic(file, text);
  if (before !== undefined && (before.uid !== process.getuid?.() || before.gid !== process.getgid?.()))
    await chown(file, before.uid, before.gid);
}

export interface MosquittoConfigOptions {
  out: string;
  prefix: string;
  port: number;
  bind?: string | undefined;
  /** Subject alternative names of the broker certificate: `DNS:broker.lan`, `IP:10.0.0.5`. */
  altNames: string[];
  pidFile?: string | undefined;
  /** The broker's user: written to mosquitto.conf, and when running as root the files are given to it. */
  user?: { name: string; uid: number; gid: number } | undefined;
}

/**
 * `iotfog fleet mqtt-config`: everything a Mosquitto needs to serve the fleet: mosquitto.conf (TLS listener, no
 * anonymous clients), passwd, acl, the fleet CA (ca.crt) and a broker certificate it signed (server.crt/.key).
 */
export async function writeMosquittoConfig(
  identity: FleetIdentity,
  o: MosquittoConfigOptions,
): Promise<string[]> {
  const out = path.resolve(o.out);
  await mkdir(out, { recursive: true, mode: 0o700 });
  await writeMosquittoAuth(identity, out, o.prefix);
  await copyFile(path.join(identity.dir, MQTT_CA_CERT_FILE), path.join(out, "ca.crt"));
  await chmod(path.join(out, "ca.crt"), 0o600);
  await issueBrokerCertificate(identity.dir, out, o.altNames);
  await writeFileAtomic(
    path.join(out, "mosquitto.conf"),
    mosquittoConf({ dir: out, port: o.port, bind: o.bind, pidFile: o.pidFile, user: o.user?.name }),
  );
  const files = ["mosquitto.conf", "acl", "passwd", "ca.crt", "server.crt", "server.key"].map((f) =>
    path.join(out, f),
  );
  const user = o.user;
  if (user !== undefined && process.getuid?.() === 0) {
    for (const f of [out, ...files]) await chown(f, user.uid, user.gid);
  }
  return files;
}

export interface MosquittoSyncOptions {
  identity: () => FleetIdentity;
  onChange: (listener: () => void) => () => void;
  dir: string;
  prefix: string;
  /** The broker's pid file: after a rewrite it gets SIGHUP (reloads passwd and acl). */
  pidFile?: string | undefined;
  logger: Logger;
}

/**
 * Keeps a Mosquitto's passwd and acl (in `security.mosquitto.dir`) in step with the fleet: rewritten at start and
 * after every enrollment, revocation and rotation, then the broker is told to reload (SIGHUP to its pid file).
 */
export class MosquittoSync implements Component {
  readonly name = "mosquitto-sync";
  private unsubscribe: (() => void) | undefined;
  private writing: Promise<void> = Promise.resolve();

  constructor(private readonly opts: MosquittoSyncOptions) {}

  async start(): Promise<void> {
    await this.sync();
    this.unsubscribe = this.opts.onChange(() => {
      this.writing = this.writing.then(() => this.sync());
    });
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    await this.writing;
  }

  /** Rewrites the files and signals the broker; a failure is logged (the previous files stay in force). */
  async sync(): Promise<void> {
    try {
      await writeMosquittoAuth(this.opts.identity(), this.opts.dir, this.opts.prefix);
      if (this.opts.pidFile !== undefined) {
        const pid = Number((await readFile(this.opts.pidFile, "utf8")).trim());
        if (!Number.isInteger(pid) || pid <= 1)
          throw new IotFogError("CONFIG_INVALID", `${this.opts.pidFile} holds no process id`);
        process.kill(pid, "SIGHUP");
      }
      this.opts.logger.info("MQTT broker credentials and ACL written", {
        dir: this.opts.dir,
        reloaded: this.opts.pidFile !== undefined,
      });
    } catch (e) {
      this.opts.logger.error("cannot update the MQTT broker's credentials; revoked nodes may still log in", {
        dir: this.opts.dir,
        error: errorMessage(e),
      });
    }
  }
}
