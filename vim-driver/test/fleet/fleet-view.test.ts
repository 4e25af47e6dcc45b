import { nodeTopic } from "@openiotfog/shared";
import { EventLog } from "../../src/fleet/events";
import {
  TOPIC_PREFIX as prefix,
  capabilitiesMessage,
  header,
  heartbeatMessage,
  presenceMessage,
  testFleetView,
} from "./fixtures";

const presence = (nodeId: string, state: "online" | "offline", sessionId = "s1", reason?: string) =>
  presenceMessage(nodeId, state, {
    sessionId,
    ...(reason ? { reason } : {}),
    endpoint: "tcp://127.0.0.1:5555",
  });

function setup() {
  let clock = 1000;
  const events = new EventLog(50, () => clock);
  const view = testFleetView({ events, now: () => clock });
  return { view, events, tick: (ms: number) => (clock += ms) };
}

describe("FleetView", () => {
  it("tracks presence, capabilities and heartbeats, and reports device and label changes as events", () => {
    const { view, events } = setup();
    view.onMessage(nodeTopic(prefix, "pi-1", "presence"), presence("pi-1", "online"));
    view.onMessage(
      nodeTopic(prefix, "pi-1", "capabilities"),
      capabilitiesMessage("pi-1", { labels: { zone: "a" } }),
    );
    expect(view.node("pi-1")).toMatchObject({ online: true, endpoint: "tcp://127.0.0.1:5555" });
    expect(view.node("pi-1")?.capabilities?.platform.arch).toBe("arm64");

    const zigbee = { id: "zb-1", class: "zigbee", path: "/dev/ttyUSB0", vendorId: "10c4", productId: "ea60" };
    view.onMessage(
      nodeTopic(prefix, "pi-1", "capabilities"),
      capabilitiesMessage("pi-1", { labels: { zone: "b" }, devices: [zigbee] }),
    );
    const types = events.recent().map((e) => e.type);
    expect(types).toEqual(["node.online", "device.attached", "node.labels", "node.updated"]);
    expect(events.recent({ types: ["device.attached"] })[0]?.message).toBe(
      "pi-1: device attached: zigbee 10c4:ea60 at /dev/ttyUSB0",
    );

    view.onMessage(
      nodeTopic(prefix, "pi-1", "heartbeat"),
      heartbeatMessage("pi-1", { memoryBytes: 1e9, diskBytes: 2e9 }, { total: 1, running: 1 }),
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

  it("keeps a node of a newer agent online: heartbeat fields it does not know are dropped", () => {
    const { view, tick } = setup();
    view.onMessage(nodeTopic(prefix, "pi-4", "presence"), presence("pi-4", "online"));
    const newer = {
      ...JSON.parse(heartbeatMessage("pi-4", { memoryBytes: 1e9, diskBytes: 2e9 })),
      gpu: { busy: 0.5 },
    };
    // The node advertises a 3 s expiry: online 4 s after its presence only because the heartbeat was taken.
    tick(2000);
    view.onMessage(nodeTopic(prefix, "pi-4", "heartbeat"), JSON.stringify(newer));
    tick(2000);
    view.expire();
    expect(view.node("pi-4")).toMatchObject({ online: true, live: { cpuCores: 4 } });
    expect(view.node("pi-4")?.live).not.toHaveProperty("gpu");
  });

  it("keeps the node's and its containers' figures from usage messages, and their history", () => {
    const { view, tick } = setup();
    view.onMessage(nodeTopic(prefix, "pi-5", "presence"), presence("pi-5", "online"));
    const usage = (cpuBusyCores: number, memoryUsedBytes: number) =>
      JSON.stringify({
        ...header("pi-5"),
        intervalMs: 1000,
        node: { cpuBusyCores, cpuCores: 4, memoryUsedBytes, memoryTotalBytes: 4e9 },
        containers: [
          {
            deploymentId: "gw.gateway.0",
            cpuCores: 0.5,
            memoryBytes: 5e6,
            memoryLimitBytes: 6e7,
            restarts: 1,
          },
        ],
      });
    view.onMessage(nodeTopic(prefix, "pi-5", "usage"), usage(1.5, 2e9));
    tick(1000);
    view.onMessage(nodeTopic(prefix, "pi-5", "usage"), usage(0.5, 3e9));
    expect(view.node("pi-5")).toMatchObject({
      usage: { at: 2000, cpuBusyCores: 0.5, cpuCores: 4, memoryUsedBytes: 3e9, memoryTotalBytes: 4e9 },
      containers: [{ deploymentId: "gw.gateway.0", cpuCores: 0.5, memoryBytes: 5e6 }],
    });
    expect(view.usageHistory().nodes).toEqual([
      {
        nodeId: "pi-5",
        cpuCores: 4,
        memoryTotalBytes: 4e9,
        intervalMs: 1000,
        points: [
          { t: 1000, cpuBusyCores: 1.5, memoryUsedBytes: 2e9 },
          { t: 2000, cpuBusyCores: 0.5, memoryUsedBytes: 3e9 },
        ],
      },
    ]);
    expect(view.usageHistory(1000).nodes[0]?.points).toHaveLength(1);
    // The retained presence deleted: the node and its history go.
    view.onMessage(nodeTopic(prefix, "pi-5", "presence"), "");
    expect(view.usageHistory().nodes).toEqual([]);
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
