/**
 * Agent memory benchmark: resident memory (RSS) of a real `iotfog agent` process after start-up, and with 10
 * managed containers while it heartbeats, rescans devices and reconciles. Needs Mosquitto and Docker (as the
 * integration tests). Prints figures; asserts nothing.
 *
 *   npx tsc -b && npx tsc -p bench/agent-memory.tsconfig.json && node bench/dist/agent-memory.js
 *
 * It measures two ways of running the agent, each with and without the V8 flags the systemd unit and the
 * agent image use (IOTFOG_AGENT_NODE_FLAGS below): `iotfog agent` (the whole CLI loaded) and the lean entry
 * edge-agent/dist/main.js.
 *
 * Target (issue 4): RSS under 60 MB on x86_64 with Node 20 and 10 managed containers.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import Docker from "dockerode";
import mqtt from "mqtt";
import { AgentClient, nodeTopic } from "@openiotfog/shared";

const REPO = path.resolve(__dirname, "../..");
const IMAGE = process.env.IOTFOG_BENCH_IMAGE ?? "openiotfog/testbox:latest";
const MQTT_URL = process.env.IOTFOG_TEST_MQTT_URL ?? "mqtt://127.0.0.1:1883";
const CONTAINERS = Number(process.env.IOTFOG_BENCH_CONTAINERS ?? 10);
const MiB = 1024 * 1024;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => resolve(typeof addr === "object" && addr ? addr.port : 0));
    });
  });
}

/** VmRSS and VmHWM (peak RSS) of a process, in bytes, from /proc. */
function rss(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (key: string): number =>
    Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0) * 1024;
  return { rss: kb("VmRSS"), peak: kb("VmHWM") };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const mb = (b: number): string => `${(b / MiB).toFixed(1)} MiB`;

/** What the systemd unit and the Dockerfile pass to node (edge-agent/deploy/). */
const AGENT_NODE_FLAGS = ["--max-semi-space-size=1", "--v8-pool-size=1", "--optimize-for-size", "--no-opt"];

/** Environment the systemd unit and the Dockerfile set: fewer glibc malloc arenas and libuv threads. */
const AGENT_ENV = { MALLOC_ARENA_MAX: "2", UV_THREADPOOL_SIZE: "2" };

interface Variant {
  name: string;
  args: string[];
  env?: Record<string, string>;
}

async function main(): Promise<void> {
  const docker = new Docker({ socketPath: "/var/run/docker.sock" });
  const version = await docker.version();
  console.log(
    `agent memory benchmark: node ${process.version}, ${os.arch()}, ${os.cpus()[0]?.model ?? "?"}, ${os.cpus().length} cpus, docker ${version.Version}, ${CONTAINERS} containers`,
  );
  const baseline = spawn(process.execPath, ["-e", "setTimeout(() => undefined, 2000)"], { stdio: "ignore" });
  await sleep(1000);
  console.log(`reference: an idle \`node\` process: RSS ${mb(rss(baseline.pid!).rss)}`);
  baseline.kill();
  const cli = path.join(REPO, "cli/bin/iotfog.js");
  const lean = path.join(REPO, "edge-agent/dist/main.js");
  const variants: Variant[] = [
    { name: "iotfog agent", args: [cli, "agent", "--config"] },
    { name: "iotfog agent + flags", args: [...AGENT_NODE_FLAGS, cli, "agent", "--config"], env: AGENT_ENV },
    { name: "edge-agent/dist/main.js", args: [lean, "--config"] },
    {
      name: "edge-agent/dist/main.js + flags (systemd unit, image)",
      args: [...AGENT_NODE_FLAGS, lean, "--config"],
      env: AGENT_ENV,
    },
  ];
  for (const v of variants) await measure(docker, v);
}

async function measure(docker: Docker, variant: Variant): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "iotfog-bench-"));
  const nodeId = `bench-${process.pid}-${Date.now().toString(36)}`;
  const prefix = `iotfog-bench-${nodeId}`;
  const endpoint = `tcp://127.0.0.1:${await freePort()}`;
  const configFile = path.join(dir, "agent.json");
  writeFileSync(
    configFile,
    JSON.stringify({
      nodeId,
      dataDir: path.join(dir, "data"),
      mqtt: { url: MQTT_URL, topicPrefix: prefix },
      zmq: { bind: endpoint },
      runtime: { pullMissingImages: false },
    }),
  );
  const child = spawn(process.execPath, [...variant.args, configFile], {
    env: { ...process.env, ...variant.env, IOTFOG_LOG_SILENT: "1" },
    stdio: "ignore",
  });
  const pid = child.pid!;
  const client = new AgentClient({ endpoint, timeoutMs: 5000, retries: 5 });
  try {
    await client.call("ping", {});
    await sleep(3000);
    const idle = rss(pid);
    const idleLine = `idle ${mb(idle.rss)}`;

    for (let i = 0; i < CONTAINERS; i++) {
      await client.call("deploy", {
        deploymentId: `bench-${i}`,
        spec: { name: `bench-${i}`, image: IMAGE, command: ["sleep", "3600"] },
      });
    }
    await client.call("list", {});
    const samples: number[] = [];
    for (let s = 0; s < 10; s++) {
      await sleep(1000);
      samples.push(rss(pid).rss);
    }
    const after = rss(pid);
    const max = Math.max(...samples);
    console.log(
      `${variant.name}: RSS ${idleLine}; with ${CONTAINERS} containers over 10 s min ${mb(Math.min(...samples))} max ${mb(max)}; peak (VmHWM) ${mb(after.peak)}; target < 60 MiB ${max < 60 * MiB ? "met" : "NOT met"}`,
    );
    for (let i = 0; i < CONTAINERS; i++)
      await client.call("remove", { deploymentId: `bench-${i}`, timeoutSeconds: 0 });
  } finally {
    await client.close();
    child.kill("SIGTERM");
    await new Promise((r) => child.once("exit", r));
    const containers = await docker.listContainers({
      all: true,
      filters: { label: [`org.openiotfog.node=${nodeId}`] },
    });
    await Promise.all(containers.map((c) => docker.getContainer(c.Id).remove({ force: true })));
    const m = await mqtt.connectAsync(MQTT_URL);
    for (const kind of ["presence", "capabilities"] as const) {
      await m.publishAsync(nodeTopic(prefix, nodeId, kind), "", { retain: true, qos: 1 });
    }
    await m.endAsync();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
