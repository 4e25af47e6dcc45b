/**
 * Helpers for the edge agent's integration tests: configurations on free ports with their own data directory,
 * MQTT topic prefix and node id, an in-process agent, the agent as a child process, and an MQTT watcher.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import Docker from "dockerode";
import mqtt, { type MqttClient } from "mqtt";
import {
  createLogger,
  nodeTopic,
  parseNodeMessage,
  type CurveClientKeys,
  type NodeMessage,
} from "@openiotfog/shared";
import {
  agentConfigSchema,
  createAgent,
  resolveAgentConfig,
  type Agent,
  type AgentConfig,
  type AgentConfigInput,
} from "@openiotfog/edge-agent";
import {
  MQTT_URL,
  freePort,
  removeContainersByLabel,
  removeNetworksByLabel,
  uniqueName,
  waitFor,
} from "../helpers/services";
import { enrollTestNode, fleetClientKeys } from "../helpers/fleet";

export const REPO = path.resolve(__dirname, "../..");
export const FIXTURES = path.join(REPO, "test/fixtures/sysfs");

export interface TestAgentSetup {
  dir: string;
  nodeId: string;
  prefix: string;
  endpoint: string;
  input: AgentConfigInput;
  config: AgentConfig;
  configFile: string;
  /** The keys the test fleet's driver reaches this agent with (AgentClient's `curve`). */
  curve: CurveClientKeys;
  cleanup(): Promise<void>;
}

/** A complete agent configuration on a free port, with unique node id, topic prefix and data directory. */
export async function testAgentSetup(
  overrides: Partial<AgentConfigInput> & { fixture?: string } = {},
): Promise<TestAgentSetup> {
  const { fixture = "no-devices", zmq, discovery, mqtt: mqttOverrides, ...rest } = overrides;
  const dir = mkdtempSync(path.join(os.tmpdir(), "iotfog-agent-test-"));
  const nodeId = uniqueName("agent-test");
  const prefix = uniqueName("iotfog-test");
  const port = await freePort();
  const endpoint = `tcp://127.0.0.1:${port}`;
  const input: AgentConfigInput = {
    nodeId,
    dataDir: path.join(dir, "data"),
    mqtt: {
      url: MQTT_URL,
      topicPrefix: prefix,
      keepaliveSeconds: 1,
      connectTimeoutMs: 3000,
      reconnectPeriodMs: 200,
      ...mqttOverrides,
    },
    zmq: { bind: endpoint, ...zmq },
    presence: { heartbeatIntervalMs: 300, expiryMs: 1500 },
    discovery: {
      sysRoot: path.join(FIXTURES, fixture, "sys"),
      devRoot: path.join(FIXTURES, fixture, "dev"),
      refreshIntervalMs: 1000,
      deviceScanIntervalMs: 500,
      ...discovery,
    },
    reconcileIntervalMs: 1000,
    protocols: ["mqtt"],
    labels: { zone: "line-1" },
    log: { level: "warn" },
    ...rest,
  };
  const configFile = path.join(dir, "agent.json");
  // JSON is YAML: the agent reads this file like any operator's config.
  writeFileSync(configFile, JSON.stringify(input, null, 2));
  const config = resolveAgentConfig(agentConfigSchema.parse(input));
  // Enrolled in the test fleet like `iotfog agent --join` does: CurveZMQ stays on in the tests.
  if (config.security.mode === "curve") await enrollTestNode(nodeId, config.security.dir);
  const curve = await fleetClientKeys(nodeId).catch(() => undefined);
  return {
    dir,
    nodeId,
    prefix,
    endpoint,
    input,
    config,
    configFile,
    get curve(): CurveClientKeys {
      if (curve === undefined) throw new Error(`${nodeId} runs with security off: no keys`);
      return curve;
    },
    cleanup: async () => {
      // On the agent's own engine: an agent on the second engine leaves its containers and networks there.
      const engine = new Docker({ socketPath: config.runtime.docker.socketPath });
      await removeContainersByLabel("org.openiotfog.node", nodeId, engine);
      await removeNetworksByLabel("org.openiotfog.node", nodeId, engine);
      await clearRetained(prefix, nodeId);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Starts an agent in this process with a silent logger. */
export async function startInProcess(config: AgentConfig): Promise<Agent> {
  const agent = createAgent(config, createLogger({ component: "agent-test", silent: true }));
  await agent.lifecycle.start();
  return agent;
}

/** Runs `iotfog agent --config FILE` from the built CLI (run `npx tsc -b` first). */
export function spawnAgent(configFile: string): ChildProcess {
  const child = spawn(
    process.execPath,
    [path.join(REPO, "cli/bin/iotfog.js"), "agent", "--config", configFile],
    {
      env: { ...process.env, IOTFOG_LOG_SILENT: "1" },
      stdio: ["ignore", "ignore", "pipe"],
    },
  );
  child.stderr?.resume();
  return child;
}

export function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once("exit", (code) => resolve(code)));
}

/** An independent MQTT client recording every validated discovery message under a prefix. */
export class DiscoveryWatcher {
  readonly messages: Array<NodeMessage & { at: number }> = [];
  private constructor(
    private readonly client: MqttClient,
    private readonly prefix: string,
  ) {
    client.on("message", (topic, payload) => {
      const m = parseNodeMessage(prefix, topic, payload);
      if (m !== undefined) this.messages.push({ ...m, at: Date.now() });
    });
  }

  static async start(prefix: string, url = MQTT_URL): Promise<DiscoveryWatcher> {
    const client = await mqtt.connectAsync(url, { clientId: uniqueName("watcher"), reconnectPeriod: 0 });
    const w = new DiscoveryWatcher(client, prefix);
    await client.subscribeAsync(`${prefix}/v1/nodes/#`, { qos: 1 });
    return w;
  }

  /** Waits for a message matching `pred` received after `since` (ms). */
  waitFor<K extends NodeMessage["kind"]>(
    kind: K,
    pred: (m: Extract<NodeMessage, { kind: K; cleared: false }>) => boolean,
    opts: { since?: number; timeoutMs?: number; what?: string } = {},
  ): Promise<Extract<NodeMessage, { kind: K; cleared: false }>> {
    type Match = Extract<NodeMessage, { kind: K; cleared: false }>;
    return waitFor(
      () => {
        for (const m of this.messages) {
          if (m.kind !== kind || m.cleared || m.at < (opts.since ?? 0)) continue;
          if (pred(m as unknown as Match)) return m as unknown as Match;
        }
        return undefined;
      },
      { timeoutMs: opts.timeoutMs ?? 10000, what: opts.what ?? `${kind} message` },
    );
  }

  async stop(): Promise<void> {
    await this.client.endAsync();
  }
}

/** Deletes the retained presence and capabilities a test agent left on the broker. */
export async function clearRetained(prefix: string, nodeId: string): Promise<void> {
  const client = await mqtt.connectAsync(MQTT_URL, { reconnectPeriod: 0 });
  for (const kind of ["presence", "capabilities"] as const) {
    await client.publishAsync(nodeTopic(prefix, nodeId, kind), "", { retain: true, qos: 1 });
  }
  await client.endAsync();
}

/**
 * A sysfs + /dev tree with one ZigBee stick (Sonoff ids) whose tty is named `null`, so its logical path is
 * /dev/null: a character device that exists on every test machine, which lets the whole chain (discovery →
 * admission → device passthrough into a real container) run without the hardware.
 */
export function passthroughTree(root: string): { sysRoot: string; devRoot: string } {
  const sys = path.join(root, "sys");
  const usb = path.join(sys, "devices/pci0000:00/0000:00:14.0/usb1/1-1");
  const attrs: Record<string, string> = {
    idVendor: "10c4",
    idProduct: "ea60",
    manufacturer: "ITead",
    product: "Sonoff Zigbee 3.0 USB Dongle Plus",
    serial: "passthrough01",
    busnum: "1",
    devnum: "2",
    bDeviceClass: "00",
  };
  mkdirSync(path.join(usb, "1-1:1.0/null/tty/null"), { recursive: true });
  for (const [k, v] of Object.entries(attrs)) writeFileSync(path.join(usb, k), `${v}\n`);
  symlinkSync("../../../null", path.join(usb, "1-1:1.0/null/tty/null/device"));
  mkdirSync(path.join(sys, "class/tty"), { recursive: true });
  symlinkSync(
    path.relative(path.join(sys, "class/tty"), path.join(usb, "1-1:1.0/null/tty/null")),
    path.join(sys, "class/tty/null"),
  );
  mkdirSync(path.join(sys, "bus/usb/devices"), { recursive: true });
  symlinkSync(path.relative(path.join(sys, "bus/usb/devices"), usb), path.join(sys, "bus/usb/devices/1-1"));
  const dev = path.join(root, "dev");
  mkdirSync(dev, { recursive: true });
  writeFileSync(path.join(dev, "null"), "");
  return { sysRoot: sys, devRoot: dev };
}
