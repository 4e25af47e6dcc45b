/**
 * A running single-machine fleet for the operator end-to-end tests, made of real processes started from the
 * built `iotfog` binary: the driver side (fleet API + GUI) and two agents with distinct node ids, labels and
 * free ports, on the real Mosquitto (own topic prefix) and the real Docker engines (agent A on the main engine,
 * agent B on the tests' second engine, so B can lack an image A has). Everything it creates is removed by stop().
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import os from "node:os";
import path from "node:path";
import Docker from "dockerode";
import { enrollTestNode, testFleetDir } from "../helpers/fleet";
import { stopProcess } from "../helpers/processes";
import {
  DOCKER_B_SOCKET,
  MQTT_URL,
  TEST_IMAGE,
  clearRetainedDiscovery,
  docker,
  freePort,
  removeContainersByLabel,
  requireDocker,
  requireMqtt,
  requireSecondDocker,
  uniqueName,
  waitFor,
} from "../helpers/services";

export const ROOT = path.resolve(__dirname, "../..");
export const BIN = path.join(ROOT, "cli/bin/iotfog.js");
const FIXTURES = path.join(ROOT, "test/fixtures/sysfs");
const NODE_LABEL = "org.openiotfog.node";

export interface StackAgent {
  nodeId: string;
  labels: Record<string, string>;
  sysRoot: string;
  devRoot: string;
  dockerSocket: string;
}

export interface OpsStack {
  dir: string;
  prefix: string;
  apiUrl: string;
  token: string;
  agentA: StackAgent;
  agentB: StackAgent;
  /** Environment for `iotfog` operator commands against this stack. */
  env: NodeJS.ProcessEnv;
  /** Output of the stack's processes so far (for failure messages). */
  logs(): string;
  /** Copies a sysfs/dev fixture into agent A's roots: what a hot-plugged USB stick looks like to discovery. */
  plugIn(fixture: string): void;
  /** Calls the fleet API with the token. */
  api<T>(method: string, p: string, body?: unknown): Promise<{ status: number; json: T }>;
  stopAgent(which: "A" | "B"): Promise<void>;
  /** Stops an agent (SIGTERM) and starts it again with the same configuration and data directory. */
  restartAgent(which: "A" | "B"): Promise<void>;
  stop(): Promise<void>;
}

/** Runs the `iotfog` binary to completion. */
export function iotfog(
  args: string[],
  env: NodeJS.ProcessEnv,
  timeoutMs = 60000,
): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    encoding: "utf8",
    timeout: timeoutMs,
    env: { ...process.env, IOTFOG_LOG_SILENT: "1", ...env },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Starts a long-running `iotfog` command (logs -f, events -f) and collects its output. */
export function iotfogFollow(
  args: string[],
  env: NodeJS.ProcessEnv,
): { child: ChildProcess; out: () => string } {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { ...process.env, IOTFOG_LOG_SILENT: "1", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (out += d.toString()));
  return { child, out: () => out };
}

export async function startOpsStack(name: string): Promise<OpsStack> {
  if (!existsSync(path.join(ROOT, "cli/dist/main.js"))) {
    throw new Error("the CLI is not built: run `npx tsc -b` (npm test does it)");
  }
  await requireMqtt();
  await requireDocker();
  await requireSecondDocker();
  const dir = mkdtempSync(path.join(os.tmpdir(), `iotfog-${name}-`));
  const prefix = uniqueName(`iotfog-${name}`);
  const token = randomBytes(18).toString("hex");
  const apiPort = await freePort();
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  const output: string[] = [];
  const children: ChildProcess[] = [];
  const start = (label: string, args: string[]): ChildProcess => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, IOTFOG_LOG_SILENT: "0", IOTFOG_LOG_LEVEL: "warn" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const keep = (d: Buffer): void => {
      output.push(`[${label}] ${d.toString()}`);
      if (output.length > 400) output.shift();
    };
    child.stdout?.on("data", keep);
    child.stderr?.on("data", keep);
    children.push(child);
    return child;
  };

  writeFileSync(
    path.join(dir, "driver.json"),
    JSON.stringify({
      mqtt: { url: MQTT_URL, topicPrefix: prefix },
      fleet: { nodeExpiryMs: 3000, stateFile: path.join(dir, "fleet-state.json") },
      api: { enabled: true, host: "127.0.0.1", port: apiPort, token, tokenFile: path.join(dir, "api-token") },
      // The test file's fleet: both agents are enrolled in it before they start (CurveZMQ on).
      security: { dir: testFleetDir() },
      log: { level: "warn" },
    }),
  );
  const agent = async (
    id: string,
    labels: Record<string, string>,
    dockerSocket: string,
  ): Promise<{ agent: StackAgent; configFile: string }> => {
    const nodeId = uniqueName(`${name}-${id}`);
    const home = path.join(dir, id);
    const sysRoot = path.join(home, "sys");
    const devRoot = path.join(home, "dev");
    mkdirSync(sysRoot, { recursive: true });
    mkdirSync(devRoot, { recursive: true });
    cpSync(path.join(FIXTURES, "no-devices"), home, { recursive: true, verbatimSymlinks: true });
    const configFile = path.join(home, "agent.json");
    await enrollTestNode(nodeId, path.join(home, "data", "security"));
    writeFileSync(
      configFile,
      JSON.stringify({
        nodeId,
        dataDir: path.join(home, "data"),
        labels,
        mqtt: { url: MQTT_URL, topicPrefix: prefix, keepaliveSeconds: 1 },
        zmq: { bind: `tcp://127.0.0.1:${await freePort()}` },
        // Own ports for the auxiliary endpoints: two agents on one machine cannot share the defaults.
        hardware: { bind: `tcp://127.0.0.1:${await freePort()}`, udev: false },
        monitoring: { pubBind: `tcp://127.0.0.1:${await freePort()}` },
        rest: { port: 0 },
        presence: { heartbeatIntervalMs: 500, expiryMs: 3000 },
        // Container and node figures every second (default 10 s): ps, top and the GUI's sparklines fill quickly.
        metrics: { containerIntervalMs: 1000 },
        discovery: { sysRoot, devRoot, diskPath: home, deviceScanIntervalMs: 300, refreshIntervalMs: 1000 },
        runtime: { docker: { socketPath: dockerSocket }, pullMissingImages: false },
        log: { level: "warn" },
      }),
    );
    return { agent: { nodeId, labels, sysRoot, devRoot, dockerSocket }, configFile };
  };
  const a = await agent("a", { zone: "line-1", cell: "press" }, "/var/run/docker.sock");
  const b = await agent("b", { zone: "line-2" }, DOCKER_B_SOCKET);

  const driver = start("driver", ["driver", "--config", path.join(dir, "driver.json")]);
  const configFiles = { A: a.configFile, B: b.configFile };
  const byName = {
    A: start("agent-a", ["agent", "--config", a.configFile]),
    B: start("agent-b", ["agent", "--config", b.configFile]),
  };

  const api = async <T>(method: string, p: string, body?: unknown): Promise<{ status: number; json: T }> => {
    const res = await fetch(`${apiUrl}/api/v1${p}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, json: (await res.json()) as T };
  };

  const stack: OpsStack = {
    dir,
    prefix,
    apiUrl,
    token,
    agentA: a.agent,
    agentB: b.agent,
    env: { IOTFOG_API_URL: apiUrl, IOTFOG_API_TOKEN: token },
    logs: () => output.join(""),
    plugIn: (fixture) => {
      cpSync(path.join(FIXTURES, fixture), path.dirname(a.agent.sysRoot), {
        recursive: true,
        verbatimSymlinks: true,
      });
    },
    api,
    stopAgent: async (which) => {
      await stopProcess(byName[which], { signal: "SIGKILL" });
    },
    restartAgent: async (which) => {
      await stopProcess(byName[which]);
      byName[which] = start(`agent-${which.toLowerCase()}`, ["agent", "--config", configFiles[which]]);
    },
    stop: async () => {
      // Every process still running (earlier agent processes of a restart have exited).
      await Promise.all(children.map((c) => stopProcess(c)));
      for (const { nodeId, dockerSocket } of [a.agent, b.agent])
        await removeContainersByLabel(NODE_LABEL, nodeId, new Docker({ socketPath: dockerSocket }));
      await clearRetainedDiscovery(prefix, [a.agent.nodeId, b.agent.nodeId]).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await waitFor(
      async () => {
        if (driver.exitCode !== null) throw new Error(`the driver exited (${driver.exitCode})`);
        const r = await api<{ nodes: Array<{ online: boolean; capabilities?: unknown }> }>("GET", "/nodes");
        return r.json.nodes.filter((n) => n.online && n.capabilities !== undefined).length === 2;
      },
      { timeoutMs: 30000, intervalMs: 200, what: "both agents online in the fleet API" },
    );
  } catch (e) {
    await stack.stop();
    throw new Error(`${(e as Error).message}\n--- stack output ---\n${output.join("")}`);
  }
  return stack;
}

/** An image tag that only engine A has, so deploying it on agent B must copy it from A. */
export async function tagOnlyOnA(): Promise<{ image: string; remove(): Promise<void> }> {
  const repo = `openiotfog/ops-copy-${randomBytes(4).toString("hex")}`;
  await docker().getImage(TEST_IMAGE).tag({ repo, tag: "latest" });
  const image = `${repo}:latest`;
  return {
    image,
    remove: async () => {
      for (const d of [docker(), new Docker({ socketPath: DOCKER_B_SOCKET })]) {
        await d
          .getImage(image)
          .remove({ force: true })
          .catch(() => undefined);
      }
    },
  };
}

/** A blueprint with one service (the test image running a long sleep, no published ports). */
export function blueprint(opts: {
  name: string;
  image?: string;
  constraints?: string[];
  devices?: Array<Record<string, string | boolean>>;
  memory?: string;
}): string {
  const lines = [
    "tosca_definitions_version: openiotfog_blueprint_1_0",
    "metadata:",
    `  name: ${opts.name}`,
    "topology_template:",
    "  node_templates:",
    `    ${opts.name}:`,
    "      type: openiotfog.nodes.Container",
    "      properties:",
    `        image: ${opts.image ?? TEST_IMAGE}`,
    // Exits on SIGTERM (a bare `sleep` as PID 1 ignores it and every removal would wait Docker's 10 s grace).
    `        command: [sh, -c, "trap 'exit 0' TERM; echo hello from $HOSTNAME; while true; do sleep 1; done"]`,
    "        resources:",
    "          cpus: 0.1",
    `          memory: ${opts.memory ?? "16MiB"}`,
  ];
  if (opts.devices !== undefined) {
    lines.push("      requirements:");
    for (const d of opts.devices) {
      lines.push("        - device:");
      for (const [k, v] of Object.entries(d))
        lines.push(`            ${k}: ${typeof v === "string" ? JSON.stringify(v) : v}`);
    }
  }
  if (opts.constraints !== undefined) {
    lines.push("      placement:", "        constraints:");
    for (const c of opts.constraints) lines.push(`          - ${c}`);
  }
  return `${lines.join("\n")}\n`;
}
