/**
 * The tests' fleet: one temporary fleet identity per test process (created on first use, removed at exit),
 * into which every test agent is enrolled with a join token through the same code `iotfog agent --join` runs.
 * Drivers started by the tests use the same directory, so they reach the agents over CurveZMQ like in
 * production: security stays on in the tests.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { CurveClientKeys } from "@openiotfog/shared";
import { joinFleet, writeTrust } from "@openiotfog/edge-agent";
import { FleetIdentity } from "@openiotfog/vim-driver";

let fleetDir: string | undefined;
let opened: Promise<FleetIdentity> | undefined;
/** Security directories of the nodes enrolled by this process, to hand them newer trust lists. */
const enrolled = new Map<string, string>();

/** One exit handler per process for all fleets (jest gives each test file its own copy of this module). */
function removeAtExit(dir: string): void {
  const key = Symbol.for("openiotfog.test.fleetDirs");
  const holder = process as unknown as Record<symbol, Set<string> | undefined>;
  let dirs = holder[key];
  if (dirs === undefined) {
    const all = new Set<string>();
    dirs = all;
    holder[key] = all;
    process.once("exit", () => {
      for (const d of all) rmSync(d, { recursive: true, force: true });
    });
  }
  dirs.add(dir);
}

/** The directory of this process's test fleet (a driver's `security.dir`). */
export function testFleetDir(): string {
  if (fleetDir === undefined) {
    const dir = mkdtempSync(path.join(os.tmpdir(), "iotfog-fleet-"));
    fleetDir = dir;
    removeAtExit(dir);
  }
  return fleetDir;
}

export function testFleet(): Promise<FleetIdentity> {
  opened ??= FleetIdentity.open(testFleetDir()).then((r) => r.identity);
  return opened;
}

/**
 * Enrolls a node whose security directory is `dir` with a fresh single-use token. The trust lists of the nodes
 * enrolled before are rewritten with the newcomer, as a driver would push them, so agents that run without a
 * driver in a test (forwarding) know each other's keys.
 */
export async function enrollTestNode(nodeId: string, dir: string): Promise<void> {
  const identity = await testFleet();
  const { token } = await identity.createToken({ ttlMs: 60000, uses: 1 });
  await joinFleet({ token, nodeId, dir }, (request) => identity.enroll(request));
  enrolled.set(nodeId, dir);
  for (const [id, other] of enrolled) {
    if (id !== nodeId && identity.node(id) !== undefined) await writeTrust(other, identity.trustFor(id));
  }
}

/** The keys a driver of the test fleet reaches `nodeId` with (for AgentClients made by tests). */
export async function fleetClientKeys(nodeId: string): Promise<CurveClientKeys> {
  const identity = await testFleet();
  const node = identity.node(nodeId);
  if (node === undefined) throw new Error(`test node ${nodeId} is not enrolled`);
  return { ...identity.keyFor(nodeId), serverKey: node.publicKey };
}
