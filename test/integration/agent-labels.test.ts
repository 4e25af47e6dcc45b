/**
 * Operator labels and advertised endpoints on a real agent (real Mosquitto, in-process agent), seen by an
 * independent MQTT client: the presence lists every endpoint the agent serves and each one is live; `labels.set`
 * over ZeroMQ validates, persists and republishes the capability document at once.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { AgentClient, type PresenceEndpoints } from "@openiotfog/shared";
import { requireMqtt, uniqueName } from "../helpers/services";
import {
  listenerPublishes,
  observeMqtt,
  startTestAgent,
  type MqttObserver,
  type TestAgent,
} from "./agent-events-harness";

describe("agent labels and endpoints", () => {
  const prefix = uniqueName("iotfog-labels");
  let a: TestAgent;
  let mqttSeen: MqttObserver;
  let client: AgentClient;
  let endpoints: PresenceEndpoints;

  beforeAll(async () => {
    await requireMqtt();
    mqttSeen = await observeMqtt(prefix);
    a = await startTestAgent({ prefix, name: "labels", labels: { zone: "line-1" } });
    client = new AgentClient({
      endpoint: a.agent.endpoint.advertise,
      timeoutMs: 5000,
      retries: 1,
      curve: a.curve,
    });
  });

  afterAll(async () => {
    await client?.close();
    await a?.stop();
    await mqttSeen?.close();
  });

  const isOf = (kind: string) => (m: { topic: string }) =>
    m.topic === `${prefix}/v1/nodes/${a.nodeId}/${kind}`;

  it("presence lists the command, hardware events, events PUB and REST addresses, and they are live", async () => {
    const presence = await mqttSeen.next(
      (m) =>
        isOf("presence")(m) && (m.payload.endpoints as PresenceEndpoints | undefined)?.rest !== undefined,
      { what: "presence with the REST endpoint" },
    );
    endpoints = presence.payload.endpoints as PresenceEndpoints;
    expect(endpoints).toEqual(a.agent.ops.endpoints());
    expect(Object.keys(endpoints).sort()).toEqual(["commands", "events", "hardwareEvents", "rest"]);
    expect(endpoints.commands).toBe(presence.payload.endpoint);

    expect((await client.call("ping", {})).nodeId).toBe(a.nodeId);
    expect((await fetch(`${endpoints.rest}/healthz`)).status).toBe(200);
    // A listener that only knows the presence message reaches the hardware endpoint.
    const since = Date.now();
    await listenerPublishes(endpoints.hardwareEvents ?? "", "attached", {
      class: "zigbee",
      serial: "labels-test-01",
      path: "/dev/ttyUSB7",
    });
    await mqttSeen.next(
      (m) =>
        isOf("capabilities")(m) &&
        (m.payload.capabilities as { devices: Array<{ serial?: string }> }).devices.some(
          (d) => d.serial === "labels-test-01",
        ),
      { since, what: "the device attached through the advertised hardware endpoint" },
    );
  });

  it("labels.set refuses a bad change naming the field, and changes nothing", async () => {
    await expect(client.call("labels.set", { set: { "line 2": "x" } })).rejects.toMatchObject({
      code: "BAD_REQUEST",
      message: expect.stringContaining('field "set.line 2": label key "line 2"'),
    });
    await expect(client.call("labels.set", { set: { "": "x" } })).rejects.toMatchObject({
      code: "BAD_REQUEST",
      message: expect.stringContaining('field "set.": label key must not be empty'),
    });
    expect(a.agent.capabilities.current().labels).toEqual({ zone: "line-1" });
  });

  it("labels.set persists the change and republishes the capabilities at once; a retry is answered, not re-run", async () => {
    const since = Date.now();
    const requestId = uniqueName("labels-req");
    const result = await client.call("labels.set", { set: { line: "2" }, remove: ["zone"] }, { requestId });
    expect(result).toEqual({
      labels: { line: "2" },
      operator: { set: { line: "2" }, removed: ["zone"] },
      changed: true,
    });
    const caps = await mqttSeen.next(
      (m) =>
        isOf("capabilities")(m) &&
        (m.payload.capabilities as { labels: Record<string, string> }).labels.line === "2",
      { since, what: "capabilities after labels.set" },
    );
    expect((caps.payload.capabilities as { labels: object }).labels).toEqual({ line: "2" });
    expect(JSON.parse(readFileSync(path.join(a.config.dataDir, "labels.json"), "utf8"))).toEqual({
      v: 1,
      nodeId: a.nodeId,
      set: { line: "2" },
      removed: ["zone"],
    });
    // The same request id again gets the first reply (changed: true), not a second run (changed: false).
    await expect(
      client.call("labels.set", { set: { line: "2" }, remove: ["zone"] }, { requestId }),
    ).resolves.toEqual(result);
    await expect(client.call("labels.set", { set: { line: "2" } })).resolves.toMatchObject({
      changed: false,
    });
  });
});
