import { parseConstraints } from "@openiotfog/shared";
import { EventLog } from "../../src/fleet/events";
import { DeclaredState, MemoryDeclaredStateStore } from "../../src/fleet/declared";
import { Orchestrator } from "../../src/fleet/orchestrator";
import type { FleetEventType } from "../../src/fleet/types";
import { MemoryFleet, silentLogger } from "./memory-fleet";

const IMAGE = "openiotfog/testbox:latest";

interface Setup {
  fleet: MemoryFleet;
  store: MemoryDeclaredStateStore;
  events: EventLog;
  clock: { t: number };
  o: Orchestrator;
}

function setup(
  nodes: Array<[string, Record<string, string>]>,
  store = new MemoryDeclaredStateStore(),
): Setup {
  const fleet = new MemoryFleet();
  for (const [id, labels] of nodes) fleet.addNode(id, { labels });
  return withOrchestrator(fleet, store);
}

/** A (new) driver over the same fleet and store: what a driver restart looks like. */
function withOrchestrator(
  fleet: MemoryFleet,
  store: MemoryDeclaredStateStore,
  clock = { t: 1_000_000 },
  extra: { startupSettleMs?: number; reconcileIntervalMs?: number } = {},
): Setup {
  const events = new EventLog(1000, () => clock.t);
  const o = new Orchestrator({
    fleet,
    agents: fleet,
    events,
    logger: silentLogger,
    declared: new DeclaredState(store, silentLogger),
    requestTimeoutMs: 100,
    deployTimeoutMs: 100,
    imageTransferTimeoutMs: 100,
    refreshTtlMs: 0,
    retry: { initialMs: 1000, maxMs: 8000, jitter: 0 },
    now: () => clock.t,
    ...extra,
  });
  return { fleet, store, events, clock, o };
}

const svc = (extra: Record<string, unknown> = {}) => ({
  name: "web",
  image: IMAGE,
  command: ["sleep", "1"],
  ...extra,
});
const types = (s: Setup): FleetEventType[] => s.events.recent({ limit: 1000 }).map((e) => e.type);

describe("Reconciler: declared vs observed, over an in-memory fleet", () => {
  it("re-places a replica of a lost node at once (on_node_loss: replace, no grace) and owes the old copy's removal", async () => {
    const s = setup([
      ["a", {}],
      ["b", {}],
    ]);
    const placed = await s.o.deploy({ name: "shop", services: [svc()] });
    const from = placed.replicas[0]!.nodeId;
    const to = from === "a" ? "b" : "a";
    s.fleet.setOnline(from, false);
    await s.o.reconciler.pass();
    expect(s.fleet.running(to)).toEqual(["shop.web.0"]);
    const declared = s.store.load();
    expect(declared.deployments[0]!.replicas[0]).toMatchObject({ nodeId: to });
    expect(declared.deployments[0]!.history.map((h) => `${h.action}@${h.nodeId}`)).toEqual([
      `placed@${from}`,
      `released@${from}`,
      `replaced@${to}`,
    ]);
    expect(declared.tombstones).toEqual([
      expect.objectContaining({ nodeId: from, agentDeploymentId: "shop.web.0", reason: `replaced on ${to}` }),
    ]);
    expect(types(s)).toContain("replica.replaced");
    const [listed] = await s.o.list();
    expect(listed?.replicas[0]).toMatchObject({ nodeId: to, state: "running" });
    expect(listed?.replicas[0]?.note).toBeUndefined();

    // The lost node comes back still running its copy: it is removed, one copy remains in the fleet.
    s.fleet.setOnline(from, true);
    expect(s.fleet.running(from)).toEqual(["shop.web.0"]);
    await s.o.reconciler.pass();
    expect(s.fleet.running(from)).toEqual([]);
    expect(s.fleet.running(to)).toEqual(["shop.web.0"]);
    expect(s.store.load().tombstones).toEqual([]);
    expect(types(s)).toContain("replica.removed");
  });

  it("a node the fleet view still shows online that does not answer is waited for, not replaced", async () => {
    const s = setup([
      ["a", {}],
      ["b", {}],
    ]);
    const from = (await s.o.deploy({ name: "shop", services: [svc()] })).replicas[0]!.nodeId;
    s.fleet.silent.add(from);
    await s.o.reconciler.pass();
    s.fleet.silent.delete(from);
    expect(s.fleet.running(from)).toEqual(["shop.web.0"]);
    expect(s.fleet.running(from === "a" ? "b" : "a")).toEqual([]);
    expect(s.store.load().deployments[0]!.replicas[0]!.nodeId).toBe(from);
    expect(types(s)).toContain("replica.waiting");
  });

  it("after a driver start, a node the fleet view has not heard of yet is waited for during the settle time", async () => {
    const s = setup([
      ["a", {}],
      ["b", {}],
    ]);
    const from = (await s.o.deploy({ name: "shop", services: [svc()] })).replicas[0]!.nodeId;
    // A new driver whose fleet view has not heard of the replica's node yet (its retained presence is on its way).
    const node = s.fleet.nodesById.get(from)!;
    s.fleet.nodesById.delete(from);
    const again = withOrchestrator(s.fleet, s.store, s.clock, { startupSettleMs: 5000 });
    await again.o.reconciler.start();
    await again.o.reconciler.stop();
    await again.o.reconciler.pass();
    expect((await again.o.get("shop")).replicas[0]).toMatchObject({
      nodeId: from,
      note: expect.stringContaining("not heard from yet"),
    });
    s.fleet.nodesById.set(from, node);
    await again.o.reconciler.pass();
    expect((await again.o.get("shop")).replicas[0]).toMatchObject({ nodeId: from, state: "running" });
    expect(s.fleet.running(from === "a" ? "b" : "a")).toEqual([]);
  });

  it("on_node_loss: keep waits for the node, saying why; a service with volumes keeps by default", async () => {
    const s = setup([
      ["a", {}],
      ["b", {}],
    ]);
    await s.o.deploy({ name: "kept", services: [svc({ failover: { onNodeLoss: "keep" } })] });
    await s.o.deploy({
      name: "data",
      services: [svc({ volumes: [{ source: "data", target: "/data" }] })],
    });
    const nodes = (await s.o.list()).map((d) => d.replicas[0]!.nodeId);
    for (const n of new Set(nodes)) s.fleet.setOnline(n, false);
    await s.o.reconciler.pass();
    for (const d of await s.o.list()) {
      expect(d.replicas[0]!.nodeId).toBe(nodes[d.id === "data" ? 1 : 0]);
      expect(d.replicas[0]!.note).toMatch(/on_node_loss: keep.*waiting for the node/);
    }
    expect((await s.o.get("data")).replicas[0]!.note).toContain("(it has volumes)");
    expect(types(s).filter((t) => t === "replica.waiting")).toHaveLength(2);
    // Another pass with the same reason adds no event.
    await s.o.reconciler.pass();
    expect(types(s).filter((t) => t === "replica.waiting")).toHaveLength(2);
  });

  it("grace: a node lost for less than its grace keeps the replica; after it, the replica moves", async () => {
    const s = setup([
      ["a", {}],
      ["b", {}],
    ]);
    const placed = await s.o.deploy({ name: "shop", services: [svc({ failover: { graceMs: 5000 } })] });
    const from = placed.replicas[0]!.nodeId;
    s.fleet.setOnline(from, false);
    await s.o.reconciler.pass();
    expect((await s.o.get("shop")).replicas[0]).toMatchObject({
      nodeId: from,
      note: expect.stringContaining("grace of 5 s"),
    });
    s.clock.t += 4000;
    await s.o.reconciler.pass();
    expect((await s.o.get("shop")).replicas[0]!.nodeId).toBe(from);
    s.clock.t += 1500;
    await s.o.reconciler.pass();
    expect((await s.o.get("shop")).replicas[0]).toMatchObject({
      nodeId: from === "a" ? "b" : "a",
      state: "running",
    });
  });

  it("an exclusive device moves only once the old copy has fenced itself; without fence_after it waits for the node", async () => {
    const fleet = new MemoryFleet();
    for (const id of ["a", "b"])
      fleet.addNode(id, { devices: [{ id: `stick-${id}`, class: "zigbee", path: `/dev/ttyUSB-${id}` }] });
    const s = withOrchestrator(fleet, new MemoryDeclaredStateStore());
    const stick = [{ class: "zigbee" }];
    const placed = await s.o.deploy({
      name: "zb",
      services: [svc({ name: "fenced", devices: stick, failover: { graceMs: 1000, fenceAfterMs: 10000 } })],
    });
    const from = placed.replicas[0]!.nodeId;
    s.fleet.setOnline(from, false);
    const fenced = async () => (await s.o.get("zb")).replicas.find((r) => r.service === "fenced")!;
    await s.o.reconciler.pass();
    expect(await fenced()).toMatchObject({
      nodeId: from,
      note: expect.stringContaining("lost for 15 s, when the old copy has fenced itself"),
    });
    // Past its grace and its fence_after, not yet past the time the fenced copy takes to stop.
    s.clock.t += 14000;
    await s.o.reconciler.pass();
    expect((await fenced()).nodeId).toBe(from);
    s.clock.t += 1500;
    await s.o.reconciler.pass();
    expect((await fenced()).nodeId).not.toBe(from);
    // Without fence_after nothing stops the old copy: the replica waits for its node however long it is lost.
    const other = new MemoryFleet();
    other.addNode("c", { devices: [{ id: "stick-c", class: "zigbee", path: "/dev/ttyUSB0" }] });
    other.addNode("d", { devices: [{ id: "stick-d", class: "zigbee", path: "/dev/ttyUSB0" }] });
    const t = withOrchestrator(other, new MemoryDeclaredStateStore());
    const p2 = await t.o.deploy({ name: "zb2", services: [svc({ devices: stick })] });
    t.fleet.setOnline(p2.replicas[0]!.nodeId, false);
    t.clock.t += 600_000;
    await t.o.reconciler.pass();
    expect((await t.o.get("zb2")).replicas[0]).toMatchObject({
      nodeId: p2.replicas[0]!.nodeId,
      note: expect.stringContaining("exclusive device and has no fence_after"),
    });
  });

  it("pings every online node each interval, apart from the passes: the agents' word from the fleet for fencing", async () => {
    const s = setup([
      ["a", {}],
      ["b", {}],
    ]);
    s.fleet.setOnline("b", false);
    const o = withOrchestrator(s.fleet, s.store, s.clock, { reconcileIntervalMs: 50 }).o;
    await o.reconciler.start();
    try {
      while (s.fleet.calls.filter((c) => c === "a:ping").length < 2)
        await new Promise((r) => setTimeout(r, 20));
    } finally {
      await o.reconciler.stop();
    }
    expect(s.fleet.calls.filter((c) => c.endsWith(":ping")).every((c) => c === "a:ping")).toBe(true);
  });

  it("a replica that cannot be placed again is pending with the placement's explanation, retried with backoff", async () => {
    const s = setup([
      ["a", { zone: "line-1" }],
      ["b", { zone: "line-2" }],
    ]);
    const constraints = parseConstraints(["node.labels.zone==line-1"], "test");
    await s.o.deploy({ name: "gw", services: [svc({ constraints })] });
    expect((await s.o.get("gw")).replicas[0]!.nodeId).toBe("a");
    s.fleet.setOnline("a", false);
    await s.o.reconciler.pass();
    const r = (await s.o.get("gw")).replicas[0]!;
    expect(r.state).toBe("pending");
    expect(r.note).toMatch(/node a lost; cannot place it elsewhere: .*zone.*next try in 1 s/);
    expect(types(s)).toContain("replica.pending");
    // Before the backoff is over nothing is tried; after it, tried again, and the next wait is twice as long.
    s.clock.t += 500;
    await s.o.reconciler.pass();
    expect((await s.o.get("gw")).replicas[0]!.note).toContain("next try in 1 s");
    s.clock.t += 600;
    await s.o.reconciler.pass();
    expect((await s.o.get("gw")).replicas[0]!.note).toContain("next try in 2 s");
    // One event for the reason, not one per try.
    expect(types(s).filter((t) => t === "replica.pending")).toHaveLength(1);
    // A node that fits joins: the replica lands there.
    s.fleet.addNode("c", { labels: { zone: "line-1" } });
    s.clock.t += 2100;
    await s.o.reconciler.pass();
    expect((await s.o.get("gw")).replicas[0]).toMatchObject({ nodeId: "c", state: "running" });
    expect((await s.o.get("gw")).replicas[0]!.note).toBeUndefined();
  });

  it("restarts a replica whose container stopped, re-creates one its agent lost, leaves a stopped one alone", async () => {
    const s = setup([["a", {}]]);
    await s.o.deploy({ name: "shop", services: [svc({ replicas: 3 })] });
    s.fleet.kill("a", "shop.web.0");
    s.fleet.runtime.get("a")!.delete("shop.web.1");
    s.fleet.kill("a", "shop.web.2");
    s.fleet.runtime.get("a")!.get("shop.web.2")!.desired = "stopped";
    await s.o.reconciler.pass();
    expect(s.fleet.running("a")).toEqual(["shop.web.0", "shop.web.1"]);
    expect(s.fleet.calls).toContain("a:start shop.web.0");
    expect(types(s)).toContain("replica.restarted");
  });

  it("restart: a driver restart in the middle of a failover keeps the new placement and what the old node owes", async () => {
    const s = setup([
      ["a", {}],
      ["b", {}],
    ]);
    const from = (await s.o.deploy({ name: "shop", services: [svc()] })).replicas[0]!.nodeId;
    const to = from === "a" ? "b" : "a";
    s.fleet.setOnline(from, false);
    await s.o.reconciler.pass();
    // A new driver process over the same store while the old node is still away.
    const again = withOrchestrator(s.fleet, s.store, s.clock);
    expect((await again.o.get("shop")).replicas[0]).toMatchObject({ nodeId: to, state: "running" });
    s.fleet.setOnline(from, true);
    await again.o.reconciler.pass();
    expect(s.fleet.running(from)).toEqual([]);
    expect(s.fleet.running(to)).toEqual(["shop.web.0"]);
  });

  it("what is no longer declared goes: a removal its node could not take is done when the node answers", async () => {
    const s = setup([["a", {}]]);
    await s.o.deploy({ name: "shop", services: [svc()] });
    s.fleet.setOnline("a", false);
    await expect(s.o.remove("shop")).rejects.toMatchObject({ code: "UNAVAILABLE" });
    s.fleet.setOnline("a", true);
    await s.o.reconciler.pass();
    expect(s.fleet.running("a")).toEqual([]);
    expect(s.store.load().tombstones).toEqual([]);
    expect(await s.o.list()).toEqual([]);
  });
});
