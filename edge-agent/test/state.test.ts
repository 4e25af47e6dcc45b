import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createLogger, serviceSpecSchema, type NodeMessage } from "@openiotfog/shared";
import { writeFileAtomic } from "@openiotfog/shared";
import { PeerTable, StateStore, type SavedDeployment } from "@openiotfog/edge-agent";

const logger = createLogger({ component: "test", silent: true });

function record(id: string): SavedDeployment {
  return {
    deploymentId: id,
    spec: serviceSpecSchema.parse({ name: "svc", image: "openiotfog/testbox:latest" }),
    replica: 0,
    devices: [],
    desired: "running",
    containerName: `iotfog-n1-${id}`,
    fingerprint: "f",
    createdAt: 1,
  };
}

describe("offline-first state store", () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(path.join(os.tmpdir(), "iotfog-state-"))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("survives a restart: what was put is loaded by a new store, and no temporary files stay behind", async () => {
    const a = new StateStore(dir, "n1", logger);
    a.load();
    await Promise.all([a.put(record("d1")), a.put(record("d2"))]);
    await a.delete("d1");
    const b = new StateStore(dir, "n1", logger);
    b.load();
    expect(b.all().map((r) => r.deploymentId)).toEqual(["d2"]);
    expect(readdirSync(dir)).toEqual(["state.json"]);
  });

  it("moves an unreadable or foreign state file aside instead of refusing to start", () => {
    writeFileSync(path.join(dir, "state.json"), "{ torn");
    const s = new StateStore(dir, "n1", logger);
    s.load();
    expect(s.all()).toEqual([]);
    expect(readdirSync(dir).some((f) => f.startsWith("state.json.unreadable-"))).toBe(true);
  });

  it("writeFileAtomic replaces the whole file", async () => {
    const file = path.join(dir, "sub", "x.json");
    await writeFileAtomic(file, "first");
    await writeFileAtomic(file, "second");
    expect(readFileSync(file, "utf8")).toBe("second");
  });
});

describe("peer table", () => {
  const presence = (nodeId: string, state: "online" | "offline", sessionId = "s1"): NodeMessage => ({
    kind: "presence",
    nodeId,
    cleared: false,
    payload: {
      v: 1,
      nodeId,
      ts: 0,
      sessionId,
      state,
      agentVersion: "0.1.0",
      protocolVersion: 1,
      startedAt: 0,
      heartbeatIntervalMs: 1000,
      expiryMs: 3000,
    },
  });

  it("tracks online peers, expires silent ones after their advertised expiry, and ignores itself", () => {
    const table = new PeerTable("self", 6000);
    const offline: string[] = [];
    table.on("offline", (p) => offline.push(`${p.nodeId}:${p.state}`));
    table.apply(presence("self", "online"), 0);
    table.apply(presence("n2", "online"), 0);
    expect(table.list().map((p) => p.nodeId)).toEqual(["n2"]);
    expect(table.sweep(2999)).toEqual([]);
    expect(table.sweep(3001).map((p) => p.nodeId)).toEqual(["n2"]);
    expect(offline).toEqual(["n2:expired"]);
  });

  it("a stale last-will from an older session does not mark a restarted peer offline", () => {
    const table = new PeerTable("self", 6000);
    table.apply(presence("n2", "online", "new"), 0);
    table.apply(presence("n2", "offline", "old"), 10);
    expect(table.get("n2")?.state).toBe("online");
    table.apply(presence("n2", "offline", "new"), 20);
    expect(table.get("n2")?.state).toBe("offline");
  });
});
