/**
 * VIM driver benchmark: for the same image on the same machine in the same run, raw dockerode create+start
 * versus the NFVO emulator's launchInstanceAndWait → container running through the driver (real RabbitMQ, real
 * Mosquitto, one real agent as its own process on the real Docker engine), as p50 / p99 and their ratios, plus
 * control-call round trips (getType, listFlavors: no Docker work). Prints figures; asserts nothing.
 *
 *   npx tsc -b && npx tsc -p bench/driver.tsconfig.json && node bench/dist/driver/bench/driver.js [launches]
 *
 * Targets (issue 6): driver / raw ≤ 1.10 at p50 and ≤ 1.25 at p99. Raw and driver launches alternate so both see
 * the same machine; every container, network, vhost and process it creates is removed at the end.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { AgentClient } from "@openiotfog/shared";
import { enrollTestNode, fleetClientKeys } from "../test/helpers/fleet";
import { stopProcess } from "../test/helpers/processes";
import {
  MQTT_URL,
  TEST_IMAGE,
  clearRetainedDiscovery,
  containersOfNode,
  freePort,
  removeContainersByLabel,
  requireDocker,
  requireMqtt,
  requireRabbitMq,
  uniqueName,
  waitFor,
} from "../test/helpers/services";
import { startDriverHarness, type DriverHarness } from "../test/nfvo-emulator/harness";

const REPO = path.resolve(__dirname, "../../../..");
const LAUNCHES = Math.max(5, Math.min(200, Number(process.argv[2] ?? 30)));
const WARMUP = 3;
const CONTROL_CALLS = 100;
const NODE_LABEL = "org.openiotfog.node";
const COMMAND = ["sleep", "3600"];

function percentile(sorted: number[], p: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] ?? NaN;
}

function stats(samples: number[]): { p50: number; p99: number; min: number; max: number } {
  const s = [...samples].sort((a, b) => a - b);
  return { p50: percentile(s, 50), p99: percentile(s, 99), min: s[0] ?? NaN, max: s[s.length - 1] ?? NaN };
}

const ms = (v: number): string => `${v.toFixed(1)} ms`;

/** The agent as operators run it (`iotfog agent --config FILE`), on a free port, with its own data directory. */
async function startAgent(
  dir: string,
  nodeId: string,
  prefix: string,
): Promise<{ child: ChildProcess; endpoint: string }> {
  const port = await freePort();
  const configFile = path.join(dir, "agent.json");
  writeFileSync(
    configFile,
    JSON.stringify({
      nodeId,
      dataDir: path.join(dir, "data"),
      mqtt: { url: MQTT_URL, topicPrefix: prefix },
      zmq: { bind: `tcp://127.0.0.1:${port}` },
      presence: { heartbeatIntervalMs: 1000, expiryMs: 5000 },
      discovery: {
        sysRoot: path.join(REPO, "test/fixtures/sysfs/no-devices/sys"),
        devRoot: path.join(REPO, "test/fixtures/sysfs/no-devices/dev"),
      },
      labels: { zone: "bench" },
      log: { level: "warn" },
    }),
  );
  // Enrolled in the bench's fleet (the driver harness uses the same one): CurveZMQ on, as in production.
  await enrollTestNode(nodeId, path.join(dir, "data", "security"));
  // IOTFOG_* variables override the agent's configuration: pass none of this process's own.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("IOTFOG_")));
  const child = spawn(
    process.execPath,
    [path.join(REPO, "cli/bin/iotfog.js"), "agent", "--config", configFile],
    {
      env: { ...env, IOTFOG_LOG_SILENT: "1" },
      stdio: ["ignore", "ignore", "inherit"],
    },
  );
  child.once("exit", (code) => {
    if (code !== 0) console.error(`the agent exited with code ${code}`);
  });
  return { child, endpoint: `tcp://127.0.0.1:${port}` };
}

async function main(): Promise<void> {
  await requireRabbitMq();
  await requireMqtt();
  const d = await requireDocker();
  const prefix = uniqueName("iotfog-bench");
  const nodeId = uniqueName("bench-node");
  const rawNode = uniqueName("bench-raw");
  const dir = mkdtempSync(path.join(os.tmpdir(), "iotfog-bench-driver-"));
  // The driver attaches each VNFC to its virtual link's bridge; raw containers get a bridge of their own.
  const rawNetwork = uniqueName("iotfog-bench-raw");
  await d.createNetwork({ Name: rawNetwork, Driver: "bridge", Labels: { [NODE_LABEL]: rawNode } });
  let agent: ChildProcess | undefined;
  let client: AgentClient | undefined;
  let h: DriverHarness | undefined;
  try {
    const started = await startAgent(dir, nodeId, prefix);
    agent = started.child;
    const direct = new AgentClient({
      endpoint: started.endpoint,
      timeoutMs: 60000,
      retries: 0,
      curve: await fleetClientKeys(nodeId),
    });
    client = direct;
    h = await startDriverHarness({ topicPrefix: prefix, driver: { launchTimeoutMs: 60000 } });
    const harness = h;
    await harness.emulator.registerVim(harness.vim);
    await harness.waitForNodes(1, 30000);
    await harness.emulator.refresh(harness.vim.name);
    const userdata = `#!/bin/sh\n#Hostname=\n#iotfog-spec/v1 ${JSON.stringify({ command: COMMAND })}\n`;

    const raw = async (): Promise<number> => {
      const t0 = performance.now();
      const c = await d.createContainer({
        name: uniqueName("iotfog-bench-raw"),
        Image: TEST_IMAGE,
        Cmd: COMMAND,
        Labels: { [NODE_LABEL]: rawNode },
        HostConfig: { NetworkMode: rawNetwork },
      });
      await c.start();
      const elapsed = performance.now() - t0;
      await c.remove({ force: true });
      return elapsed;
    };
    const viaDriver = async (): Promise<number> => {
      const t0 = performance.now();
      const vnfc = await harness.emulator.allocate(harness.vim.name, {
        vnfrName: "bench",
        vmImage: TEST_IMAGE,
        connectionPoints: [{ virtual_link_reference: "bench-lan" }],
        userdata,
      });
      const elapsed = performance.now() - t0;
      if (vnfc.state !== "ACTIVE") throw new Error(`launch answered ${vnfc.state}`);
      await harness.emulator.release(harness.vim.name, vnfc.vc_id);
      await waitFor(async () => (await containersOfNode(nodeId, d)).length === 0, {
        timeoutMs: 30000,
        intervalMs: 50,
        what: "bench container removed",
      });
      return elapsed;
    };

    // The agent alone (what the driver asks of it, over ZeroMQ): tells the agent's share from the driver's.
    const viaAgent = async (): Promise<number> => {
      const deploymentId = uniqueName("bench-direct");
      const t0 = performance.now();
      const r = await direct.call("deploy", {
        deploymentId,
        spec: { name: "bench-direct", image: TEST_IMAGE, command: COMMAND },
        networks: [{ name: rawNetwork }],
        start: true,
      });
      const elapsed = performance.now() - t0;
      if (r.deployment.state !== "running") throw new Error(`agent deploy answered ${r.deployment.state}`);
      await direct.call("remove", { deploymentId, timeoutSeconds: 0 });
      return elapsed;
    };

    for (let i = 0; i < WARMUP; i++) {
      await raw();
      await viaAgent();
      await viaDriver();
    }
    const rawMs: number[] = [];
    const agentMs: number[] = [];
    const driverMs: number[] = [];
    for (let i = 0; i < LAUNCHES; i++) {
      rawMs.push(await raw());
      agentMs.push(await viaAgent());
      driverMs.push(await viaDriver());
    }
    const controlMs: Record<string, number[]> = { getType: [], listFlavors: [] };
    for (let i = 0; i < CONTROL_CALLS; i++) {
      for (const [method, type] of [
        ["getType", "String"],
        ["listFlavors", "List<DeploymentFlavour>"],
      ] as const) {
        const t0 = performance.now();
        await harness.emulator.call(harness.vim, method, [], type);
        controlMs[method]?.push(performance.now() - t0);
      }
    }

    const r = stats(rawMs);
    const a = stats(agentMs);
    const v = stats(driverMs);
    const gt = stats(controlMs.getType ?? []);
    const lf = stats(controlMs.listFlavors ?? []);
    const cpus = os.cpus();
    console.log(
      `VIM driver benchmark: ${LAUNCHES} launches each (after ${WARMUP} warm-up), image ${TEST_IMAGE}`,
    );
    console.log(`machine: ${cpus.length} × ${cpus[0]?.model ?? "cpu"}, Node ${process.version}`);
    console.log("");
    console.log("launch                                  p50         p99         min         max");
    const row = (name: string, s: ReturnType<typeof stats>): string =>
      `${name.padEnd(38)} ${ms(s.p50).padStart(10)}  ${ms(s.p99).padStart(10)}  ${ms(s.min).padStart(10)}  ${ms(s.max).padStart(10)}`;
    console.log(row("raw dockerode create+start", r));
    console.log(row("agent deploy over ZeroMQ (no driver)", a));
    console.log(row("emulator → driver → running", v));
    console.log(row("control: getType round trip", gt));
    console.log(row("control: listFlavors round trip", lf));
    console.log("");
    console.log(`ratio driver / raw   p50 ${(v.p50 / r.p50).toFixed(2)} (target ≤ 1.10)`);
    console.log(`                     p99 ${(v.p99 / r.p99).toFixed(2)} (target ≤ 1.25)`);
    console.log(`ratio agent / raw    p50 ${(a.p50 / r.p50).toFixed(2)}, p99 ${(a.p99 / r.p99).toFixed(2)}`);
    // Every NFVO call first looks the plugin queue up in the management API and opens a new AMQP connection
    // (PluginCaller); a getType round trip is that cost plus nothing.
    console.log(
      `without the NFVO's per-call overhead (launch p50 − getType p50): ${ms(v.p50 - gt.p50)}, ratio ${((v.p50 - gt.p50) / r.p50).toFixed(2)}`,
    );
    console.log(`(p99 of ${LAUNCHES} samples is their maximum)`);
  } finally {
    await client?.close();
    await h?.close().catch((e: Error) => console.error(`driver harness: ${e.message}`));
    if (agent) await stopProcess(agent, { killAfterMs: 10000 });
    await removeContainersByLabel(NODE_LABEL, nodeId, d).catch(() => undefined);
    await removeContainersByLabel(NODE_LABEL, rawNode, d).catch(() => undefined);
    // The VL network the driver created on the bench node is named by a hash of the node id (VimService).
    const vlNetwork = `iotfog-bench-lan.${createHash("sha256").update(nodeId).digest("hex").slice(0, 6)}`;
    for (const name of [rawNetwork, vlNetwork])
      await d
        .getNetwork(name)
        .remove()
        .catch(() => undefined);
    await clearRetainedDiscovery(prefix, [nodeId]).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
  process.exitCode = 1;
});
