import { mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { EventLog } from "../../src/fleet/events";
import {
  DeclaredState,
  FileDeclaredStateStore,
  MemoryDeclaredStateStore,
  type DeclaredStateStore,
} from "../../src/fleet/declared";
import { Orchestrator } from "../../src/fleet/orchestrator";
import { PendingRemovals } from "../../src/openbaton/pending-removals";
import { MemoryFleet, silentLogger } from "./memory-fleet";

const IMAGE = "openiotfog/testbox:latest";
const services = (replicas = 1) => [{ name: "web", image: IMAGE, replicas, command: ["sleep", "1"] }];

function orchestrator(fleet: MemoryFleet, store: DeclaredStateStore, events = new EventLog()): Orchestrator {
  return new Orchestrator({
    fleet,
    agents: fleet,
    events,
    logger: silentLogger,
    declared: new DeclaredState(store, silentLogger),
    requestTimeoutMs: 100,
    deployTimeoutMs: 100,
    imageTransferTimeoutMs: 100,
    refreshTtlMs: 0,
  });
}

describe("declared state", () => {
  it("a deployment declared through one orchestrator is known to the next one over the same store (a driver restart)", async () => {
    const fleet = new MemoryFleet();
    fleet.addNode("a");
    fleet.addNode("b");
    const store = new MemoryDeclaredStateStore();
    const first = orchestrator(fleet, store);
    const deployed = await first.deploy({ name: "shop", services: services(2) });
    expect(deployed.status).toBe("running");
    const declared = store.load().deployments;
    expect(declared).toHaveLength(1);
    expect(declared[0]).toMatchObject({ id: "shop", specs: [{ name: "web", replicas: 2 }] });
    expect(declared[0]!.replicas.map((r) => r.agentDeploymentId).sort()).toEqual([
      "shop.web.0",
      "shop.web.1",
    ]);
    expect(declared[0]!.history.map((h) => h.action)).toEqual(["placed", "placed"]);

    const second = orchestrator(fleet, store);
    const [listed] = await second.list();
    // Known with its specs, not rediscovered without them.
    expect(listed).toMatchObject({ id: "shop", origin: "api", status: "running" });
    expect(listed?.specs?.[0]?.name).toBe("web");
    await expect(second.deploy({ name: "shop", services: services() })).rejects.toMatchObject({
      code: "CONFLICT",
    });
  });

  it("a removal its node cannot take leaves nothing declared and a tombstone owed to that node", async () => {
    const fleet = new MemoryFleet();
    fleet.addNode("a");
    const store = new MemoryDeclaredStateStore();
    const o = orchestrator(fleet, store);
    await o.deploy({ name: "shop", services: services() });
    fleet.setOnline("a", false);
    await expect(o.remove("shop")).rejects.toMatchObject({ code: "UNAVAILABLE" });
    const state = store.load();
    expect(state.deployments).toEqual([]);
    expect(state.tombstones).toEqual([
      expect.objectContaining({
        nodeId: "a",
        agentDeploymentId: "shop.web.0",
        reason: expect.stringContaining("a"),
      }),
    ]);
    // Asked again once the node answers: removed, and nothing owed any more.
    fleet.setOnline("a", true);
    await o.remove("shop");
    expect(store.load().tombstones).toEqual([]);
    expect(fleet.running("a")).toEqual([]);
  });

  it("a deploy that fails after placement declares nothing", async () => {
    const fleet = new MemoryFleet();
    fleet.addNode("a");
    fleet.silent.add("a");
    const store = new MemoryDeclaredStateStore();
    await expect(
      orchestrator(fleet, store).deploy({ name: "shop", services: services() }),
    ).rejects.toBeDefined();
    expect(store.load().deployments).toEqual([]);
  });

  it("the file store writes the whole state atomically (mode 600) and reads it back", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "iotfog-declared-"));
    const file = path.join(dir, "fleet.json");
    const fleet = new MemoryFleet();
    fleet.addNode("a");
    const o = orchestrator(fleet, new FileDeclaredStateStore(file, silentLogger));
    await o.deploy({ name: "shop", services: services() });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const again = new DeclaredState(new FileDeclaredStateStore(file, silentLogger), silentLogger);
    expect(again.get("shop")?.replicas[0]).toMatchObject({ nodeId: "a", agentDeploymentId: "shop.web.0" });
    expect(JSON.parse(readFileSync(file, "utf8"))).toMatchObject({ version: 1, tombstones: [] });
  });

  it("an unreadable file is moved aside and the driver starts with nothing declared", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "iotfog-declared-"));
    const file = path.join(dir, "fleet.json");
    writeFileSync(file, JSON.stringify({ version: 1, deployments: [{ id: "x" }], tombstones: [] }));
    const state = new DeclaredState(new FileDeclaredStateStore(file, silentLogger), silentLogger);
    expect(state.deployments()).toEqual([]);
    expect(readdirSync(dir).some((f) => f.startsWith("fleet.json.unreadable-"))).toBe(true);
  });

  it("writes go out in the order of the changes, each with the state as it then is", async () => {
    const saved: string[][] = [];
    const store: DeclaredStateStore = {
      load: () => ({ version: 1, deployments: [], tombstones: [] }),
      save: async (s) => {
        await new Promise((r) => setTimeout(r, 5));
        saved.push(s.tombstones.map((t) => t.agentDeploymentId));
      },
    };
    const state = new DeclaredState(store, silentLogger);
    await Promise.all(
      ["x.a.0", "x.b.0", "x.c.0"].map((id) =>
        state.addTombstone({ nodeId: "n", agentDeploymentId: id, since: 1, reason: "offline" }),
      ),
    );
    expect(saved.at(-1)).toEqual(["x.a.0", "x.b.0", "x.c.0"]);
    for (let i = 1; i < saved.length; i++)
      expect(saved[i]!.length).toBeGreaterThanOrEqual(saved[i - 1]!.length);
  });

  it("a store that cannot write fails the change with RUNTIME_ERROR naming the cause", async () => {
    const store: DeclaredStateStore = {
      load: () => ({ version: 1, deployments: [], tombstones: [] }),
      save: () => Promise.reject(new Error("disk full")),
    };
    const fleet = new MemoryFleet();
    fleet.addNode("a");
    const o = orchestrator(fleet, store);
    await expect(o.deploy({ name: "shop", services: services() })).rejects.toMatchObject({
      code: "RUNTIME_ERROR",
      message: expect.stringContaining("disk full"),
    });
    expect(fleet.running("a")).toEqual([]);
    expect(await o.list()).toEqual([]);
  });

  it("the VIM driver's owed removals are tombstones in the declared state: a restart keeps them", async () => {
    const store = new MemoryDeclaredStateStore();
    const before = new PendingRemovals(new DeclaredState(store, silentLogger));
    before.add({ nodeId: "pi-1", deploymentId: "ob-x.gw.0", since: 5, reason: "node offline" });
    await new Promise((r) => setImmediate(r));
    const after = new PendingRemovals(new DeclaredState(store, silentLogger));
    expect(after.forNode("pi-1")).toEqual([
      { nodeId: "pi-1", deploymentId: "ob-x.gw.0", since: 5, reason: "node offline" },
    ]);
    expect(after.drop("pi-1", "ob-x.gw.0")).toBe(true);
    await new Promise((r) => setImmediate(r));
    expect(store.load().tombstones).toEqual([]);
  });
});
