/**
 * Operator labels pushed to the agent, and the endpoints agents advertise, as users see them: the real
 * `iotfog` binary against a running stack (driver side with the fleet API, two agents, real Mosquitto and
 * Docker), checked also with an independent MQTT client. `node label` changes what the broker, `nodes` and
 * placement see; the labels survive an agent restart; bad labels are refused naming the field.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import mqtt, { type MqttClient } from "mqtt";
import {
  AgentClient,
  nodeTopicFilter,
  parseNodeMessage,
  type CapabilitiesPayload,
  type PresencePayload,
} from "@openiotfog/shared";
import { fleetClientKeys } from "../helpers/fleet";
import { MQTT_URL, uniqueName, waitFor } from "../helpers/services";
import { blueprint, iotfog, startOpsStack, type OpsStack } from "./ops-stack";

/** Every validated presence and capabilities message under the stack's prefix, as a third party sees them. */
class BrokerWatcher {
  readonly presence: PresencePayload[] = [];
  readonly capabilities: CapabilitiesPayload[] = [];
  private constructor(private readonly client: MqttClient) {}

  static async start(prefix: string): Promise<BrokerWatcher> {
    const client = await mqtt.connectAsync(MQTT_URL, {
      clientId: uniqueName("labels-watch"),
      reconnectPeriod: 0,
    });
    const w = new BrokerWatcher(client);
    client.on("message", (topic, payload) => {
      const m = parseNodeMessage(prefix, topic, payload);
      if (m === undefined || m.cleared) return;
      if (m.kind === "presence") w.presence.push(m.payload);
      if (m.kind === "capabilities") w.capabilities.push(m.payload);
    });
    await client.subscribeAsync(
      [nodeTopicFilter(prefix, "presence"), nodeTopicFilter(prefix, "capabilities")],
      { qos: 1 },
    );
    return w;
  }

  latestCapabilities(nodeId: string): CapabilitiesPayload | undefined {
    return this.capabilities.filter((c) => c.nodeId === nodeId).at(-1);
  }

  latestPresence(nodeId: string): PresencePayload | undefined {
    return this.presence.filter((p) => p.nodeId === nodeId).at(-1);
  }

  stop(): Promise<void> {
    return this.client.endAsync();
  }
}

interface NodeJson {
  nodeId: string;
  online: boolean;
  endpoint?: string;
  endpoints?: Record<string, string>;
  capabilities?: { labels: Record<string, string> };
}

let stack: OpsStack;
let watcher: BrokerWatcher;

beforeAll(async () => {
  stack = await startOpsStack("ops-labels");
  watcher = await BrokerWatcher.start(stack.prefix);
});

afterAll(async () => {
  await watcher?.stop();
  await stack?.stop();
});

function labelsInNodesJson(nodeId: string): Record<string, string> | undefined {
  const r = iotfog(["nodes", "-o", "json"], stack.env);
  expect(r.status).toBe(0);
  const nodes = JSON.parse(r.stdout) as NodeJson[];
  return nodes.find((n) => n.nodeId === nodeId)?.capabilities?.labels;
}

describe("iotfog node label: operator labels pushed to the agent", () => {
  it("changes the labels the broker and `nodes` show, and placement follows them", async () => {
    const a = stack.agentA.nodeId;
    const f = path.join(stack.dir, "line2.yaml");
    writeFileSync(f, blueprint({ name: "on-line-2", constraints: ["node.labels.line == 2"] }));
    // Before: no node has the label, so the blueprint cannot be placed.
    expect(iotfog(["explain", f], stack.env).status).toBe(1);

    const r = iotfog(["node", "label", a, "line=2"], stack.env);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`${a}: zone=line-1, cell=press, line=2\n`);

    // An independent MQTT client sees the republished capability document (retained).
    await waitFor(() => watcher.latestCapabilities(a)?.capabilities.labels.line === "2", {
      timeoutMs: 5000,
      what: "line=2 in the capabilities on MQTT",
    });
    expect(watcher.latestCapabilities(a)?.capabilities.labels).toEqual({
      zone: "line-1",
      cell: "press",
      line: "2",
    });
    // The API answered once the fleet view had the labels: no waiting needed here.
    expect(labelsInNodesJson(a)).toEqual({ zone: "line-1", cell: "press", line: "2" });
    expect(labelsInNodesJson(stack.agentB.nodeId)).toEqual({ zone: "line-2" });

    const deploy = iotfog(["deploy", f], stack.env, 120000);
    expect(deploy.stderr).toBe("");
    expect(deploy.status).toBe(0);
    expect(deploy.stdout).toContain(`placement  on-line-2#0 → ${a}`);
    expect(deploy.stdout).toContain("deployed on-line-2: 1 replica(s)");
    const rm = iotfog(["rm", "on-line-2"], stack.env);
    expect(rm.status).toBe(0);

    // key- removes, here a label that came from the agent's configuration.
    const removed = iotfog(["node", "label", a, "cell-", "-o", "json"], stack.env);
    expect(removed.status).toBe(0);
    expect(JSON.parse(removed.stdout)).toEqual({ nodeId: a, labels: { zone: "line-1", line: "2" } });
    expect(labelsInNodesJson(a)).toEqual({ zone: "line-1", line: "2" });
  });

  it("keeps the labels across an agent restart (kept in the agent's data directory)", async () => {
    const a = stack.agentA.nodeId;
    const before = watcher.latestPresence(a)?.sessionId;
    expect(before).toBeDefined();
    const file = path.join(stack.dir, "a", "data", "labels.json");
    expect(existsSync(file)).toBe(true);
    expect(JSON.parse(readFileSync(file, "utf8"))).toMatchObject({
      v: 1,
      nodeId: a,
      set: { line: "2" },
      removed: ["cell"],
    });

    await stack.restartAgent("A");
    const session = await waitFor(
      () => {
        const p = watcher.latestPresence(a);
        return p?.state === "online" && p.sessionId !== before ? p.sessionId : undefined;
      },
      { timeoutMs: 20000, what: "the restarted agent's presence" },
    );
    // The restarted agent's first capability document already carries the operator labels.
    const caps = await waitFor(
      () => watcher.capabilities.find((c) => c.nodeId === a && c.sessionId === session),
      { timeoutMs: 10000, what: "capabilities of the restarted agent" },
    );
    expect(caps.capabilities.labels).toEqual({ zone: "line-1", line: "2" });
    await waitFor(
      async () => {
        const n = await stack.api<NodeJson>("GET", `/nodes/${a}`);
        return n.json.online && n.json.capabilities?.labels.line === "2";
      },
      { timeoutMs: 10000, what: "the restarted node online in the fleet API" },
    );
    expect(labelsInNodesJson(a)).toEqual({ zone: "line-1", line: "2" });
  });

  it("refuses bad labels naming the field: exit code 2 from the CLI, HTTP 400 from the API", async () => {
    const a = stack.agentA.nodeId;
    const spaced = iotfog(["node", "label", a, "line 2=x"], stack.env);
    expect(spaced.status).toBe(2);
    expect(spaced.stderr).toContain('field "set.line 2": label key "line 2" must be 1-128 letters');

    const emptyKey = iotfog(["node", "label", a, "=x"], stack.env);
    expect(emptyKey.status).toBe(2);
    expect(emptyKey.stderr).toContain('label "=x": write key=value to set or key- to remove');

    const api = await stack.api<{ error: { code: string; message: string } }>("PATCH", `/nodes/${a}/labels`, {
      set: { "": "x" },
    });
    expect(api.status).toBe(400);
    expect(api.json.error.message).toContain('field "set.": label key must not be empty');

    const newline = await stack.api<{ error: { message: string } }>("PATCH", `/nodes/${a}/labels`, {
      set: { line: "2\n3" },
    });
    expect(newline.status).toBe(400);
    expect(newline.json.error.message).toContain('field "set.line": must not contain control characters');

    const both = await stack.api<{ error: { message: string } }>("PATCH", `/nodes/${a}/labels`, {
      set: { line: "3" },
      remove: ["line"],
    });
    expect(both.status).toBe(400);
    expect(both.json.error.message).toContain('field "remove[0]": "line" is also in "set"');

    // Nothing changed.
    expect(labelsInNodesJson(a)).toEqual({ zone: "line-1", line: "2" });
  });
});

describe("presence advertises the agent's endpoints", () => {
  it("an independent MQTT client sees every address, each one answers, and node inspect shows them", async () => {
    const b = stack.agentB.nodeId;
    const presence = await waitFor(
      () => {
        const p = watcher.latestPresence(b);
        return p?.endpoints?.rest !== undefined ? p : undefined;
      },
      { timeoutMs: 10000, what: "agent B's presence with its endpoints" },
    );
    const endpoints = presence.endpoints;
    expect(endpoints).toEqual({
      commands: presence.endpoint,
      hardwareEvents: expect.stringMatching(/^tcp:\/\/127\.0\.0\.1:\d+$/),
      events: expect.stringMatching(/^tcp:\/\/127\.0\.0\.1:\d+$/),
      rest: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/),
    });
    // The advertised addresses are the live ones: the REST API answers, the command endpoint pings.
    const health = await fetch(`${endpoints?.rest}/healthz`);
    expect(health.status).toBe(200);
    const client = new AgentClient({
      endpoint: endpoints?.commands ?? "",
      timeoutMs: 3000,
      retries: 1,
      curve: await fleetClientKeys(b),
    });
    try {
      await expect(client.call("ping", {})).resolves.toMatchObject({ nodeId: b });
    } finally {
      await client.close();
    }

    const inspect = iotfog(["node", "inspect", b], stack.env);
    expect(inspect.status).toBe(0);
    expect(inspect.stdout).toContain(
      `Endpoints:   hardware events ${endpoints?.hardwareEvents}, events (PUB) ${endpoints?.events}, REST API ${endpoints?.rest}`,
    );
    const json = JSON.parse(iotfog(["node", "inspect", b, "-o", "json"], stack.env).stdout) as NodeJson;
    expect(json.endpoints).toEqual(endpoints);
  });
});
