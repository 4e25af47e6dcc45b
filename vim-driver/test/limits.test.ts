/**
 * Bounds on the driver's tables that grow with what other machines send (docs/security.md, "Limits"): each one
 * refuses beyond its limit, counts the refusal, and keeps what it already has working.
 */
import { createLogger, nodeTopic } from "@openiotfog/shared";
import { AgentPool } from "../src/fleet/agents";
import { EventLog } from "../src/fleet/events";
import { FleetView } from "../src/fleet/fleet-view";
import type { FleetNode } from "../src/fleet/types";
import { WorkerPool } from "../src/util/worker-pool";
import { TOPIC_PREFIX, presenceMessage } from "./fleet/fixtures";

const logger = createLogger({ component: "test", silent: true });

describe("fleet view bound", () => {
  it("messages of new nodes beyond maxNodes are refused and counted; known nodes keep being updated", () => {
    const view = new FleetView({
      mqttUrl: "mqtt://unused",
      topicPrefix: TOPIC_PREFIX,
      nodeExpiryMs: 5000,
      events: new EventLog(),
      logger,
      maxNodes: 2,
    });
    const announce = (nodeId: string, state: "online" | "offline") =>
      view.onMessage(nodeTopic(TOPIC_PREFIX, nodeId, "presence"), presenceMessage(nodeId, state));
    announce("n1", "online");
    announce("n2", "online");
    announce("n3", "online");
    expect(view.nodes().map((n) => n.nodeId)).toEqual(["n1", "n2"]);
    expect(view.refusals.refused).toBe(1);
    announce("n2", "offline");
    expect(view.node("n2")?.online).toBe(false);
    // A node removed (cleared retained presence) makes room.
    view.onMessage(nodeTopic(TOPIC_PREFIX, "n2", "presence"), "");
    announce("n3", "online");
    expect(view.nodes().map((n) => n.nodeId)).toEqual(["n1", "n3"]);
    expect(view.refusals.refused).toBe(1);
  });
});

describe("agent connections bound", () => {
  const online = (nodeId: string, port: number): FleetNode =>
    ({ nodeId, online: true, lastSeen: 0, endpoint: `tcp://127.0.0.1:${port}` }) as FleetNode;

  it("a new connection beyond maxConnections closes the least recently used idle one", async () => {
    const nodes = new Map(["a", "b", "c"].map((id, i) => [id, online(id, 1 + i)]));
    const pool = new AgentPool({
      node: (id) => nodes.get(id),
      requestTimeoutMs: 200,
      attempts: 1,
      logger,
      maxConnections: 2,
    });
    try {
      const a = pool.client("a");
      pool.client("b");
      expect(pool.client("a")).toBe(a); // a used again: b is now the least recently used
      pool.client("c");
      expect(pool.size).toBe(2);
      expect(pool.client("a")).toBe(a);
      expect(pool.refusals.refused).toBe(0);
    } finally {
      await pool.stop();
    }
  });

  it("is refused with UNAVAILABLE, counted, when every connection has a call in flight", async () => {
    const nodes = new Map(["a", "b"].map((id, i) => [id, online(id, 1 + i)]));
    const pool = new AgentPool({
      node: (id) => nodes.get(id),
      requestTimeoutMs: 300,
      attempts: 1,
      logger,
      maxConnections: 1,
    });
    try {
      // Nothing listens on port 1: the ping waits for its reply (or send timeout) and keeps the connection busy.
      const call = pool
        .client("a")
        .call("ping", {})
        .catch(() => undefined);
      await new Promise((r) => setImmediate(r));
      expect(() => pool.client("b")).toThrow(expect.objectContaining({ code: "UNAVAILABLE" }));
      expect(pool.refusals.refused).toBe(1);
      await call;
      expect(pool.client("b")).toBeDefined(); // idle again: a is closed for b
    } finally {
      await pool.stop();
    }
  });
});

describe("background jobs bound (worker pool)", () => {
  it("is full when running plus waiting jobs reach maxJobs, and has room again as they finish", async () => {
    const pool = new WorkerPool(1, 3);
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const jobs = [1, 2, 3].map(() => pool.run(() => gate));
    expect(pool.active).toBe(1);
    expect(pool.queued).toBe(2);
    expect(pool.full).toBe(true);
    release();
    await Promise.all(jobs);
    expect(pool.full).toBe(false);
  });
});
