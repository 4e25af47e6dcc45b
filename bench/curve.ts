/**
 * CurveZMQ benchmark: what CURVE costs on the agent's command channel, in the same run on the same machine. Two
 * real agents as their own processes (`iotfog agent --config`) with the same configuration except `security`:
 * one enrolled in a fleet (CurveZMQ, the default), one with `security.mode: insecure` (plain ZeroMQ, allowed
 * only because every bind is on loopback). Measured from this process with AgentClient, alternating between the
 * two agents so both see the same machine: `ping` round trips (no Docker work) and `deploy` of a container until
 * it runs (real Docker engine); each deployment is removed untimed. Prints p50 / p99 and the CURVE / plain
 * ratios; asserts nothing.
 *
 *   npm run bench:curve [-- deploys pings]
 *
 * Targets (issue 12): CURVE adds under 5 % to a deploy and under 1 ms to a round trip.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { AgentClient, type CurveClientKeys } from "@openiotfog/shared";
import { enrollTestNode, fleetClientKeys } from "../test/helpers/fleet";
import { stopProcess } from "../test/helpers/processes";
import {
  MQTT_URL,
  TEST_IMAGE,
  clearRetainedDiscovery,
  freePort,
  removeContainersByLabel,
  requireDocker,
  requireMqtt,
  uniqueName,
  waitFor,
} from "../test/helpers/services";

const REPO = path.resolve(__dirname, "../../../..");
const DEPLOYS = Math.max(5, Math.min(100, Number(process.argv[2] ?? 20)));
const PINGS = Math.max(50, Math.min(5000, Number(process.argv[3] ?? 500)));
const WARMUP = 3;

function percentile(sorted: number[], p: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] ?? NaN;
}

function stats(samples: number[]): { p50: number; p99: number } {
  const s = [...samples].sort((a, b) => a - b);
  return { p50: percentile(s, 50), p99: percentile(s, 99) };
}

interface BenchAgent {
  nodeId: string;
  child: ChildProcess;
  client: AgentClient;
}

/** One agent process; `curve` false writes `security.mode: insecure` (every bind stays on loopback). */
async function startAgent(dir: string, prefix: string, curve: boolean): Promise<BenchAgent> {
  const nodeId = uniqueName(curve ? "bench-curve" : "bench-plain");
  const port = await freePort();
  const configFile = path.join(dir, `${nodeId}.json`);
  writeFileSync(
    configFile,
    JSON.stringify({
      nodeId,
      dataDir: path.join(dir, nodeId),
      mqtt: { url: MQTT_URL, topicPrefix: prefix },
      zmq: { bind: `tcp://127.0.0.1:${port}` },
      monitoring: { pubBind: "tcp://127.0.0.1:*" },
      hardware: { bind: "tcp://127.0.0.1:*", udev: false },
      presence: { heartbeatIntervalMs: 1000, expiryMs: 5000 },
      discovery: {
        sysRoot: path.join(REPO, "test/fixtures/sysfs/no-devices/sys"),
        devRoot: path.join(REPO, "test/fixtures/sysfs/no-devices/dev"),
      },
      runtime: { pullMissingImages: false },
      labels: { zone: "bench" },
      log: { level: "warn" },
      ...(curve ? {} : { security: { mode: "insecure" } }),
    }),
  );
  let keys: CurveClientKeys | undefined;
  if (curve) {
    await enrollTestNode(nodeId, path.join(dir, nodeId, "security"));
    keys = await fleetClientKeys(nodeId);
  }
  // IOTFOG_* variables override the agent's configuration: pass none of this process's own.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("IOTFOG_")));
  const child = spawn(
    process.execPath,
    [path.join(REPO, "cli/bin/iotfog.js"), "agent", "--config", configFile],
    { env: { ...env, IOTFOG_LOG_SILENT: "1" }, stdio: ["ignore", "ignore", "inherit"] },
  );
  const client = new AgentClient({
    endpoint: `tcp://127.0.0.1:${port}`,
    timeoutMs: 60000,
    retries: 0,
    ...(keys === undefined ? {} : { curve: keys }),
  });
  await waitFor(
    () =>
      client.call("ping", {}, { timeoutMs: 1000 }).then(
        () => true,
        () => false,
      ),
    { timeoutMs: 30000, what: `${nodeId} answering ping` },
  );
  return { nodeId, child, client };
}

async function timed(f: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await f();
  return performance.now() - t0;
}

async function deployOnce(agent: BenchAgent, i: number): Promise<number> {
  const deploymentId = `${agent.nodeId}-${i}`;
  const t = await timed(() =>
    agent.client.call("deploy", {
      deploymentId,
      spec: { name: "bench", image: TEST_IMAGE, command: ["sleep", "3600"] },
    }),
  );
  await agent.client.call("remove", { deploymentId, timeoutSeconds: 0 });
  return t;
}

function report(what: string, curve: number[], plain: number[], unit: "ms" | "µs"): void {
  const c = stats(curve);
  const p = stats(plain);
  const f = (v: number): string => (unit === "ms" ? `${v.toFixed(1)} ms` : `${(v * 1000).toFixed(0)} µs`);
  console.log(
    `${what}: CURVE p50 ${f(c.p50)}, p99 ${f(c.p99)} | plain p50 ${f(p.p50)}, p99 ${f(p.p99)} | ` +
      `ratio p50 ${(c.p50 / p.p50).toFixed(3)}, p99 ${(c.p99 / p.p99).toFixed(3)} | ` +
      `CURVE adds p50 ${f(c.p50 - p.p50)}, p99 ${f(c.p99 - p.p99)}`,
  );
}

async function main(): Promise<void> {
  await requireMqtt();
  await requireDocker();
  const prefix = uniqueName("iotfog-bench-curve");
  const dir = mkdtempSync(path.join(os.tmpdir(), "iotfog-bench-curve-"));
  const agents: BenchAgent[] = [];
  try {
    const secured = await startAgent(dir, prefix, true);
    agents.push(secured);
    const plain = await startAgent(dir, prefix, false);
    agents.push(plain);
    const both = [secured, plain] as const;

    const pings: [number[], number[]] = [[], []];
    for (let i = 0; i < PINGS + WARMUP; i++) {
      for (const [k, a] of both.entries()) {
        const t = await timed(() => a.client.call("ping", {}));
        if (i >= WARMUP) pings[k]?.push(t);
      }
    }
    const deploys: [number[], number[]] = [[], []];
    for (let i = 0; i < DEPLOYS + WARMUP; i++) {
      // Alternate which goes first, so neither always follows the other's container removal.
      const order = i % 2 === 0 ? [0, 1] : [1, 0];
      for (const k of order) {
        const a = both[k as 0 | 1];
        const t = await deployOnce(a, i);
        if (i >= WARMUP) deploys[k]?.push(t);
      }
    }
    console.log(
      `bench:curve: ${PINGS} pings and ${DEPLOYS} deploys per agent (after ${WARMUP} warm-up each), ` +
        `same run, alternating; image ${TEST_IMAGE}`,
    );
    report("ping round trip", pings[0], pings[1], "µs");
    report("deploy until running", deploys[0], deploys[1], "ms");
  } finally {
    for (const a of agents) {
      await a.client.close();
      await stopProcess(a.child, { killAfterMs: 5000 });
      await removeContainersByLabel("org.openiotfog.node", a.nodeId);
    }
    await clearRetainedDiscovery(
      prefix,
      agents.map((a) => a.nodeId),
    ).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
