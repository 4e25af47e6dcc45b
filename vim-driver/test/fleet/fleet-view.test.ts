import { createLogger, nodeTopic, type NodeCapabilitiesInput } from "@openiotfog/shared";
import { EventLog } from "../../src/fleet/events";
import { FleetView } from "../../src/fleet/fleet-view";

const prefix = "t";
const logger = createLogger({ component: "test", silent: true });

function caps(nodeId: string, extra: Partial<NodeCapabilitiesInput> = {}): NodeCapabilitiesInput {
  return {
    schemaVersion: 1,
    nodeId,
    hostname: `${nodeId}.local`,
    platform: { arch: "arm64", os: "linux" },
    agentVersion: "0.1.0",
    resources: {
      cpu: { cores: 4 },
      memory: { totalBytes: 4e9, freeBytes: 3e9 },
      disk: { totalBytes: 32e9, freeBytes: 20e9 },
    },
    ...extra,
  };
}

const base = (nodeId: string, sessionId = "s1") => ({ v: 1, nodeId, ts: 1, sessionId });
const presence = (nodeId: string, state: "online" | "offline", sessionId = "s1", reason?: string) =>
  JSON.stringify({
    ...base(nodeId, sessionId),
    state,
    ...(reason ? { reason } : {}),
    agentVersion: "0.1.0",
    endpoint: "tcp://127.0.0.1:5555",
    protocolVersion: 1,
    startedAt: 1,
    heartbeatIntervalMs: 1000,
    expiryMs: 3000,
  });

function setup() {
  let clock = 1000;
  const events = new EventLog(50, () => clock);
  const view = new FleetView({
    mqttUrl: "mqtt://unused",
    topicPrefix: prefix,
    nodeExpiryMs: 5000,
    events,
    logger,
    now: () => clock,
  });
  return { view, events, tick: (ms: number) => (clock += ms) };
}

describe("FleetView", () => {
  it("tracks presence, capabilities and heartbeats, and reports device and label changes as events", () => {
    const { view, events } = setup();
    view.onMessage(nodeTopic(prefix, "pi-1", "presence"), presence("pi-1", "online"));
    view.onMessage(
      nodeTopic(prefix, "pi-1", "capabilities"),
      JSON.stringify({ ...base("pi-1"), capabilities: caps("pi-1", { labels: { zone: "a" } }) }),
    );
    expect(view.node("pi-1")).toMatchObject({ online: true, endpoint: "tcp://127.0.0.1:5555" });
    expect(view.node("pi-1")?.capabilities?.platform.arch).toBe("arm64");

    const zigbee = { id: "zb-1", class: "zigbee", path: "/dev/ttyUSB0", vendorId: "10c4", productId: "ea60" };
    view.onMessage(
      nodeTopic(prefix, "pi-1", "capabilities"),
      JSON.stringify({
        ...base("pi-1"),
        capabilities: caps("pi-1", { labels: { zone: "b" }, devices: [zigbee] }),
      }),
    );
    const types = events.recent().map((e) => e.type);
    expect(types).toEqual(["node.online", "device.attached", "node.labels", "node.updated"]);
    expect(events.recent({ types: ["device.attached"] })[0]?.message).toBe(
      "pi-1: device attached: zigbee 10c4:ea60 at /dev/ttyUSB0",
    );

    view.onMessage(
      nodeTopic(prefix, "pi-1", "heartbeat"),
      JSON.stringify({
        ...base("pi-1"),
        seq: 1,
        uptimeMs: 10,
        resources: {
          memory: { totalBytes: 4e9, freeBytes: 1e9 },
          disk: { totalBytes: 32e9, freeBytes: 2e9 },
          load: [0.1, 0.2, 0.3],
          cpuCores: 4,
        },
        deployments: { total: 1, running: 1 },
      }),
    );
    expect(view.node("pi-1")?.live?.memory.freeBytes).toBe(1e9);
  });

  it("ignores a stale last-will of an older session, and expires silent nodes", () => {
    const { view, events, tick } = setup();
    view.onMessage(nodeTopic(prefix, "pi-2", "presence"), presence("pi-2", "online", "new"));
    view.onMessage(nodeTopic(prefix, "pi-2", "presence"), presence("pi-2", "offline", "old", "lost"));
    expect(view.node("pi-2")?.online).toBe(true);
    tick(3001);
    view.expire();
    expect(view.node("pi-2")).toMatchObject({ online: false, offlineReason: "expired" });
    expect(events.recent({ types: ["node.offline"] })).toHaveLength(1);
  });

  it("skips invalid messages and keeps serving", () => {
    const { view } = setup();
    view.onMessage(nodeTopic(prefix, "pi-3", "presence"), "{not json");
    view.onMessage(nodeTopic(prefix, "pi-3", "presence"), JSON.stringify({ v: 1 }));
    view.onMessage("other/topic", "x");
    expect(view.nodes()).toEqual([]);
  });
});

describe("EventLog", () => {
  it("keeps the newest events, filters by id and type, and survives a failing subscriber", () => {
    const log = new EventLog(3);
    const seen: number[] = [];
    log.subscribe(() => {
      throw new Error("broken stream");
    });
    log.subscribe((e) => seen.push(e.id));
    for (let i = 0; i < 5; i++) log.publish({ type: "node.updated", message: `m${i}` });
    expect(log.recent().map((e) => e.id)).toEqual([3, 4, 5]);
    expect(log.recent({ since: 4 }).map((e) => e.id)).toEqual([5]);
    expect(log.recent({ limit: 1 }).map((e) => e.id)).toEqual([5]);
    expect(seen).toEqual([1, 2, 3, 4, 5]);
    expect(log.lastId).toBe(5);
  });
});
