import { nodeTopic } from "@openiotfog/shared";
import { LiveFleet, nodeAddress } from "../../src/openbaton/fleet/live-fleet";
import {
  TOPIC_PREFIX as prefix,
  capabilitiesMessage as capabilities,
  heartbeatMessage,
  presenceMessage,
  testFleetView,
} from "../fleet/fixtures";

const presence = (nodeId: string, state: "online" | "offline", endpoint?: string): string =>
  presenceMessage(nodeId, state, endpoint === undefined ? {} : { endpoint });

const heartbeat = (nodeId: string, memoryBytes: number, diskBytes: number): string =>
  heartbeatMessage(nodeId, { memoryBytes, diskBytes });

function setup(): { fleet: LiveFleet; send: (n: string, k: string, p: string) => void } {
  const view = testFleetView();
  return {
    fleet: new LiveFleet(view),
    send: (nodeId, kind, payload) => view.onMessage(nodeTopic(prefix, nodeId, kind as "presence"), payload),
  };
}

describe("LiveFleet (the Open Baton side's view of the shared FleetView)", () => {
  it("lists online nodes that have an endpoint and capabilities, with the heartbeat's free memory and disk", () => {
    const { fleet, send } = setup();
    send("pi-2", "presence", presence("pi-2", "online", "tcp://10.0.0.12:5555"));
    send("pi-2", "capabilities", capabilities("pi-2"));
    send("pi-1", "presence", presence("pi-1", "online", "tcp://10.0.0.11:5555"));
    send("pi-1", "capabilities", capabilities("pi-1"));
    send("pi-1", "heartbeat", heartbeat("pi-1", 1e9, 2e9));
    // Not placeable: no capabilities yet, or no endpoint announced.
    send("pi-3", "presence", presence("pi-3", "online", "tcp://10.0.0.13:5555"));
    send("pi-4", "presence", presence("pi-4", "online"));
    send("pi-4", "capabilities", capabilities("pi-4"));

    const live = fleet.live();
    expect(live.map((n) => n.nodeId)).toEqual(["pi-1", "pi-2"]);
    expect(live[0]?.capabilities.resources.memory.freeBytes).toBe(1e9);
    expect(live[0]?.capabilities.resources.disk.freeBytes).toBe(2e9);
    expect(live[1]?.capabilities.resources.memory.freeBytes).toBe(3e9);
    expect(fleet.liveNode("pi-3")).toBeUndefined();
    expect(fleet.liveNode("pi-1")?.endpoint).toBe("tcp://10.0.0.11:5555");
  });

  it("drops a node that says goodbye, and tells listeners about every change", () => {
    const { fleet, send } = setup();
    let changes = 0;
    const off = fleet.onChange(() => changes++);
    send("pi-1", "presence", presence("pi-1", "online", "tcp://10.0.0.11:5555"));
    send("pi-1", "capabilities", capabilities("pi-1"));
    expect(fleet.live()).toHaveLength(1);
    send("pi-1", "presence", presence("pi-1", "offline"));
    expect(fleet.live()).toEqual([]);
    expect(changes).toBeGreaterThanOrEqual(3);
    off();
    const before = changes;
    send("pi-1", "presence", presence("pi-1", "online", "tcp://10.0.0.11:5555"));
    expect(changes).toBe(before);
  });

  it("reports a node becoming live once: first seen, and back after being offline", () => {
    const { fleet, send } = setup();
    send("pi-1", "presence", presence("pi-1", "online", "tcp://10.0.0.11:5555"));
    send("pi-1", "capabilities", capabilities("pi-1"));
    const seen: string[] = [];
    // pi-1 is live already: not reported.
    const off = fleet.onNodeLive((n) => seen.push(n.nodeId));
    send("pi-1", "heartbeat", heartbeat("pi-1", 1e9, 2e9));
    send("pi-2", "presence", presence("pi-2", "online", "tcp://10.0.0.12:5555"));
    expect(seen).toEqual([]); // no capabilities yet: not live
    send("pi-2", "capabilities", capabilities("pi-2"));
    send("pi-2", "heartbeat", heartbeat("pi-2", 1e9, 2e9));
    expect(seen).toEqual(["pi-2"]);
    send("pi-1", "presence", presence("pi-1", "offline"));
    send("pi-1", "presence", presence("pi-1", "online", "tcp://10.0.0.11:5556"));
    send("pi-1", "heartbeat", heartbeat("pi-1", 1e9, 2e9));
    expect(seen).toEqual(["pi-2", "pi-1"]);
    off();
    send("pi-2", "presence", presence("pi-2", "offline"));
    send("pi-2", "presence", presence("pi-2", "online", "tcp://10.0.0.12:5555"));
    expect(seen).toEqual(["pi-2", "pi-1"]);
  });

  it("reports a node's address as the host of its advertised endpoint, else its hostname", () => {
    const { fleet, send } = setup();
    send("pi-1", "presence", presence("pi-1", "online", "tcp://10.0.0.11:5555"));
    send("pi-1", "capabilities", capabilities("pi-1"));
    send("pi-2", "presence", presence("pi-2", "online", "tcp://0.0.0.0:5555"));
    send("pi-2", "capabilities", capabilities("pi-2"));
    const [one, two] = fleet.live();
    expect(one && nodeAddress(one)).toBe("10.0.0.11");
    expect(two && nodeAddress(two)).toBe("pi-2.local");
  });
});
