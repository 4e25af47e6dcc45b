/**
 * Helpers for the agent-events / agent-rest / agent-forward integration tests: a real agent in this process
 * (real Mosquitto, real Docker), an independent MQTT observer, and the example hardware listener as a child
 * process. Everything a test creates is removed by `stop()` / `close()`.
 */
import { execFile } from "node:child_process";
import { mkdtemp, mkdir, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import mqtt, { type MqttClient } from "mqtt";
import {
  createLogger,
  nodeTopic,
  parseWith,
  type CurveClientKeys,
  type HostPolicyInput,
} from "@openiotfog/shared";
import {
  agentConfigSchema,
  createAgent,
  resolveAgentConfig,
  type Agent,
  type AgentConfig,
} from "@openiotfog/edge-agent";
import { enrollTestNode, fleetClientKeys } from "../helpers/fleet";
import { MQTT_URL, removeContainersByLabel, uniqueName, waitFor } from "../helpers/services";

const run = promisify(execFile);
export const LISTENER = path.resolve(__dirname, "../../examples/listeners/hw-event.js");
export const REST_TOKEN = "integration-token-1234";

export interface TestAgent {
  agent: Agent;
  config: AgentConfig;
  nodeId: string;
  dir: string;
  /** The keys the test fleet's driver reaches this agent with (AgentClient's `curve`). */
  curve: CurveClientKeys;
  /** Stops the agent, removes its containers and temporary files, clears its retained MQTT messages. */
  stop(): Promise<void>;
}

export async function startTestAgent(opts: {
  prefix: string;
  name: string;
  labels?: Record<string, string>;
  openReads?: boolean;
  /** The agent's host-safety policy, given its temporary directory; default: least privilege. */
  hostPolicy?: (dir: string) => HostPolicyInput;
  /** Merged into the `rest:` section (e.g. `tls`, `host`). */
  rest?: Record<string, unknown>;
}): Promise<TestAgent> {
  const nodeId = uniqueName(opts.name);
  const dir = await mkdtemp(path.join(os.tmpdir(), `${nodeId}-`));
  // Empty fixture roots: discovery finds no devices, so only hardware events add them.
  await mkdir(path.join(dir, "sys"));
  await mkdir(path.join(dir, "dev"));
  const config = resolveAgentConfig(
    parseWith(
      agentConfigSchema,
      {
        nodeId,
        dataDir: path.join(dir, "data"),
        labels: opts.labels ?? {},
        mqtt: { url: MQTT_URL, topicPrefix: opts.prefix },
        zmq: { bind: "tcp://127.0.0.1:*" },
        presence: { heartbeatIntervalMs: 500, expiryMs: 3000 },
        discovery: { sysRoot: path.join(dir, "sys"), devRoot: path.join(dir, "dev"), diskPath: dir },
        runtime: { pullMissingImages: false },
        hardware: { bind: "tcp://127.0.0.1:*", udev: false },
        monitoring: { pubBind: "tcp://127.0.0.1:*" },
        rest: { port: 0, token: REST_TOKEN, openReads: opts.openReads ?? false, ...opts.rest },
        hostPolicy: opts.hostPolicy?.(dir) ?? {},
      },
      "test agent config",
    ),
  );
  await enrollTestNode(nodeId, config.security.dir);
  const agent = createAgent(config, createLogger({ component: "agent", silent: true }));
  const stop = async (): Promise<void> => {
    await agent.lifecycle.stop();
    await removeContainersByLabel("org.openiotfog.node", nodeId);
    await clearRetained(opts.prefix, nodeId);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await agent.lifecycle.start();
  } catch (e) {
    // A start the test expects to fail leaves nothing behind either.
    await stop();
    throw e;
  }
  return { agent, config, nodeId, dir, curve: await fleetClientKeys(nodeId), stop };
}

/** Deletes an agent's retained presence and capabilities so the broker keeps nothing from the test. */
async function clearRetained(prefix: string, nodeId: string): Promise<void> {
  const client = await mqtt.connectAsync(MQTT_URL, { reconnectPeriod: 0 });
  for (const kind of ["presence", "capabilities"] as const) {
    await client.publishAsync(nodeTopic(prefix, nodeId, kind), "", { qos: 1, retain: true });
  }
  await client.endAsync();
}

export interface MqttObserver {
  client: MqttClient;
  messages: Array<{ topic: string; at: number; payload: Record<string, unknown> }>;
  /** The first message after `since` matching the predicate. */
  next(
    match: (m: { topic: string; payload: Record<string, unknown> }) => boolean,
    opts?: { since?: number; what?: string },
  ): Promise<{ topic: string; at: number; payload: Record<string, unknown> }>;
  close(): Promise<void>;
}

/** An MQTT client independent of the agents, recording every message under the prefix. */
export async function observeMqtt(prefix: string): Promise<MqttObserver> {
  const client = await mqtt.connectAsync(MQTT_URL, { reconnectPeriod: 0 });
  const messages: MqttObserver["messages"] = [];
  client.on("message", (topic, payload) => {
    if (payload.length === 0) return;
    messages.push({
      topic,
      at: Date.now(),
      payload: JSON.parse(payload.toString("utf8")) as Record<string, unknown>,
    });
  });
  await client.subscribeAsync(`${prefix}/#`, { qos: 1 });
  return {
    client,
    messages,
    next: (match, opts = {}) =>
      waitFor(() => messages.find((m) => m.at >= (opts.since ?? 0) && match(m)), {
        timeoutMs: 10000,
        what: opts.what ?? "an MQTT message",
      }),
    close: () => client.endAsync(),
  };
}

/** Runs the example listener (a separate process) and returns when it sent the event (epoch ms). */
export async function listenerPublishes(
  endpoint: string,
  kind: "attached" | "detached",
  device: Record<string, unknown>,
): Promise<number> {
  const { stdout } = await run(
    process.execPath,
    [LISTENER, endpoint, kind, JSON.stringify(device), "integration-test"],
    {
      timeout: 15000,
    },
  );
  return Number(stdout.trim());
}

/** A character device node standing in for a ZigBee stick's tty (same numbers as /dev/null); needs root. */
export async function fakeTty(dir: string, name: string): Promise<string> {
  const file = path.join(dir, name);
  try {
    await run("mknod", [file, "c", "1", "3"]);
  } catch (e) {
    throw new Error(
      `cannot create the device node ${file} standing in for a ZigBee stick (mknod needs root, as in CI): ${(e as Error).message}`,
    );
  }
  return file;
}

export function capabilitiesOf(m: { payload: Record<string, unknown> }): {
  devices: Array<{ id: string; class: string; path: string }>;
} {
  return m.payload.capabilities as { devices: Array<{ id: string; class: string; path: string }> };
}
