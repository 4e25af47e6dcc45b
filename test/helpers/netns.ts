/**
 * A fog node that can be cut off silently, for failover tests and the failover benchmark: a network namespace
 * joined to the host by a veth pair, and an MQTT broker of the test's own listening on the host end (the shared
 * Mosquitto listens on 127.0.0.1 only, which a namespace cannot reach, and is never reconfigured). `cut()` drops
 * every packet in the namespace with nftables, in and out: no FIN, no RST, no ICMP, the link stays up, so the
 * broker and the driver learn of the loss only by silence, as with a pulled cable or a power loss.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { stopProcess } from "./processes";
import { enrollTestNode } from "./fleet";
import { freePort, waitFor } from "./services";

function run(cmd: string, args: string[]): string {
  return execFileSync(binary(cmd), args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

function has(cmd: string): boolean {
  if (existsSync(`/usr/sbin/${cmd}`)) return true;
  try {
    run("sh", ["-c", `command -v ${cmd}`]);
    return true;
  } catch {
    return false;
  }
}

/** Debian puts ip, nft and mosquitto in /usr/sbin, which a non-login PATH may lack. */
function binary(cmd: string): string {
  return existsSync(`/usr/sbin/${cmd}`) ? `/usr/sbin/${cmd}` : cmd;
}

/** Fails loudly, naming what is missing: root, ip (iproute2), nft (nftables), mosquitto. */
export function requireNetns(): void {
  const missing: string[] = [];
  if (process.getuid?.() !== 0) missing.push("root (network namespaces need CAP_NET_ADMIN)");
  for (const cmd of ["ip", "nft", "mosquitto"]) if (!has(cmd)) missing.push(cmd);
  if (missing.length > 0)
    throw new Error(`silent node loss needs ${missing.join(", ")}; scripts/setup.sh installs the packages`);
}

export interface IsolatedNode {
  /** The namespace's name (`ip netns exec <ns> ...`). */
  ns: string;
  /** The host end's address: where a broker for the namespace listens. */
  hostAddress: string;
  /** The namespace end's address: where the node's agent binds its endpoints. */
  nodeAddress: string;
  /** Runs a command inside the namespace. */
  spawn(command: string, args: string[], opts?: Parameters<typeof spawn>[2]): ChildProcess;
  /** Drops every packet in the namespace, both ways (idempotent). */
  cut(): void;
  /** Lets traffic through again (idempotent). */
  restore(): void;
  /** Removes the namespace and the veth pair. */
  remove(): void;
}

/** A namespace with a /30 to the host; names and subnet derive from the process id and a counter. */
export function createIsolatedNode(): IsolatedNode {
  requireNetns();
  const tag = `${process.pid % 10000}${Math.floor(Math.random() * 90 + 10)}`;
  const ns = `iotfog-fo-${tag}`;
  const hostIf = `fo${tag}h`;
  const nodeIf = `fo${tag}n`;
  const octet = (process.pid + Math.floor(Math.random() * 1000)) % 250;
  const third = Math.floor(Math.random() * 60) * 4;
  const hostAddress = `10.213.${octet}.${third + 1}`;
  const nodeAddress = `10.213.${octet}.${third + 2}`;
  const inNs = (args: string[]): string => run("ip", ["netns", "exec", ns, ...args]);
  run("ip", ["netns", "add", ns]);
  try {
    run("ip", ["link", "add", hostIf, "type", "veth", "peer", "name", nodeIf]);
    run("ip", ["link", "set", nodeIf, "netns", ns]);
    run("ip", ["addr", "add", `${hostAddress}/30`, "dev", hostIf]);
    run("ip", ["link", "set", hostIf, "up"]);
    inNs(["ip", "addr", "add", `${nodeAddress}/30`, "dev", nodeIf]);
    inNs(["ip", "link", "set", nodeIf, "up"]);
    inNs(["ip", "link", "set", "lo", "up"]);
  } catch (e) {
    run("ip", ["netns", "del", ns]);
    throw e;
  }
  let isCut = false;
  return {
    ns,
    hostAddress,
    nodeAddress,
    spawn: (command, args, opts = {}) => spawn(binary("ip"), ["netns", "exec", ns, command, ...args], opts),
    cut: () => {
      if (isCut) return;
      // Only the veth's traffic: the namespace's own loopback keeps working, as on a real node.
      inNs([
        binary("nft"),
        `add table inet iotfog_cut; ` +
          `add chain inet iotfog_cut in { type filter hook input priority -300; policy accept; }; ` +
          `add chain inet iotfog_cut out { type filter hook output priority -300; policy accept; }; ` +
          `add rule inet iotfog_cut in iifname "${nodeIf}" drop; ` +
          `add rule inet iotfog_cut out oifname "${nodeIf}" drop`,
      ]);
      isCut = true;
    },
    restore: () => {
      if (!isCut) return;
      inNs([binary("nft"), "delete table inet iotfog_cut"]);
      isCut = false;
    },
    remove: () => {
      try {
        run("ip", ["link", "del", hostIf]);
      } catch {
        // gone with the namespace already
      }
      try {
        run("ip", ["netns", "del", ns]);
      } catch {
        // already removed
      }
    },
  };
}

export interface OwnBroker {
  url: string;
  stop(): Promise<void>;
}

/** A Mosquitto of this test's own on `host` (a free port), anonymous, no persistence. */
export async function startOwnBroker(host: string): Promise<OwnBroker> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), "iotfog-mosquitto-"));
  const conf = path.join(dir, "mosquitto.conf");
  writeFileSync(conf, `listener ${port} ${host}\nallow_anonymous true\npersistence false\n`);
  const child = spawn(binary("mosquitto"), ["-c", conf], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
  await waitFor(
    () =>
      new Promise<boolean>((resolve) => {
        if (child.exitCode !== null) return resolve(false);
        const s = net.connect(port, host);
        s.once("connect", () => {
          s.destroy();
          resolve(true);
        });
        s.once("error", () => resolve(false));
      }),
    { timeoutMs: 10000, intervalMs: 100, what: `own mosquitto on ${host}:${port} (${stderr.trim()})` },
  );
  return {
    url: `mqtt://${host}:${port}`,
    stop: async () => {
      await stopProcess(child, { killAfterMs: 3000 });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The repository root, from the sources (ts-jest) or from a compiled benchmark under bench/dist. */
function repoRoot(): string {
  let dir = __dirname;
  while (!existsSync(path.join(dir, "cli/bin/iotfog.js"))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`no repository above ${__dirname}`);
    dir = up;
  }
  return dir;
}

/**
 * An agent configuration file (`iotfog agent --config`) with the product's keepalive and presence defaults,
 * every endpoint bound on `bindHost` (a free port each), no devices unless `discovery` says, and its data under `dir/<nodeId>`; the node
 * is enrolled in the test fleet (its keys in the default `<dataDir>/security`).
 */
export async function writeAgentConfig(opts: {
  dir: string;
  nodeId: string;
  brokerUrl: string;
  prefix: string;
  bindHost: string;
  labels: Record<string, string>;
  /** A discovery tree of the test's own (e.g. `passthroughTree`'s ZigBee stick); default: no devices. */
  discovery?: { sysRoot: string; devRoot: string };
}): Promise<string> {
  const repo = repoRoot();
  const configFile = path.join(opts.dir, `${opts.nodeId}.json`);
  writeFileSync(
    configFile,
    JSON.stringify({
      nodeId: opts.nodeId,
      dataDir: path.join(opts.dir, opts.nodeId, "data"),
      labels: opts.labels,
      mqtt: { url: opts.brokerUrl, topicPrefix: opts.prefix },
      // Ports free on the host; inside a namespace nothing else listens at all.
      zmq: { bind: `tcp://${opts.bindHost}:${await freePort()}` },
      hardware: { bind: `tcp://${opts.bindHost}:${await freePort()}`, udev: false },
      monitoring: { pubBind: `tcp://${opts.bindHost}:${await freePort()}` },
      rest: { port: 0 },
      discovery: {
        sysRoot: opts.discovery?.sysRoot ?? path.join(repo, "test/fixtures/sysfs/no-devices/sys"),
        devRoot: opts.discovery?.devRoot ?? path.join(repo, "test/fixtures/sysfs/no-devices/dev"),
        diskPath: opts.dir,
      },
      runtime: { pullMissingImages: false },
      log: { level: "warn" },
    }),
  );
  // Enrolled in the test fleet as `iotfog agent --join` does (security stays on; startFleetDriver uses that fleet).
  await enrollTestNode(opts.nodeId, path.join(opts.dir, opts.nodeId, "data", "security"));
  return configFile;
}

/** `iotfog agent --config FILE` from the built CLI, inside `node`'s namespace when given. */
export function spawnAgentProcess(configFile: string, node?: IsolatedNode): ChildProcess {
  // IOTFOG_* variables override the agent's configuration: pass none of this process's own.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("IOTFOG_")));
  const args = [path.join(repoRoot(), "cli/bin/iotfog.js"), "agent", "--config", configFile];
  const opts = {
    env: { ...env, IOTFOG_LOG_SILENT: "1" },
    stdio: ["ignore", "ignore", "inherit"] as ["ignore", "ignore", "inherit"],
  };
  return node === undefined ? spawn(process.execPath, args, opts) : node.spawn(process.execPath, args, opts);
}
