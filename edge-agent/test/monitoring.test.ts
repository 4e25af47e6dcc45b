import { createLogger } from "@openiotfog/shared";
import { EventBus } from "../src/monitoring/bus";
import { fromDockerEvent } from "../src/monitoring/docker-events";
import { agentEventSchema } from "../src/monitoring/events";

const logger = createLogger({ component: "test", silent: true });

describe("EventBus", () => {
  it("keeps a bounded history, filters it, and survives failing sinks and subscribers", async () => {
    const bus = new EventBus({ nodeId: "n1", logger, historySize: 3 });
    const seen: number[] = [];
    bus.addSink({ name: "broken", publish: () => Promise.reject(new Error("broker gone")) });
    bus.addSink({
      name: "throws",
      publish: () => {
        throw new Error("sync failure");
      },
    });
    bus.subscribe(() => {
      throw new Error("bad subscriber");
    });
    const unsubscribe = bus.subscribe((e) => seen.push(e.seq));
    bus.emit({ type: "peer.appeared", message: "p", peerId: "n2" });
    bus.emit({ type: "container.started", message: "s", deploymentId: "d1" });
    unsubscribe();
    bus.emit({ type: "container.died", message: "d", deploymentId: "d1", data: { exitCode: 1 } });
    const last = bus.emit({ type: "container.oom", message: "o", deploymentId: "d2" });
    await new Promise((r) => setImmediate(r));

    expect(seen).toEqual([1, 2]);
    expect(bus.history().map((e) => e.seq)).toEqual([2, 3, 4]);
    expect(bus.history({ types: ["container."], deploymentId: "d1" }).map((e) => e.type)).toEqual([
      "container.started",
      "container.died",
    ]);
    expect(bus.history({ afterSeq: 3 }).map((e) => e.seq)).toEqual([4]);
    expect(bus.history({ limit: 1 })).toEqual([last]);
    expect(agentEventSchema.parse(last)).toEqual(last);
    expect(last).toMatchObject({
      severity: "error",
      nodeId: "n1",
      id: expect.stringMatching(/^n1:[0-9a-f]+:4$/),
    });
    expect(bus.stats()).toMatchObject({ lastSeq: 4, kept: 3, capacity: 3, sinkFailures: 8 });
  });
});

describe("container events", () => {
  const actor = {
    ID: "abc123",
    Attributes: { name: "svc-1", "org.openiotfog.deployment": "d1", exitCode: "137" },
  };

  it("maps Docker's lifecycle actions and ignores the rest", () => {
    expect(fromDockerEvent({ Type: "container", Action: "die", Actor: actor })).toMatchObject({
      type: "container.died",
      severity: "warn",
      deploymentId: "d1",
      containerId: "abc123",
      data: { exitCode: 137 },
    });
    expect(
      fromDockerEvent({ Type: "container", Action: "health_status: unhealthy", Actor: actor }),
    ).toMatchObject({
      type: "container.health",
      severity: "warn",
      data: { status: "unhealthy" },
    });
    expect(fromDockerEvent({ Type: "container", Action: "oom", Actor: actor })?.type).toBe("container.oom");
    expect(fromDockerEvent({ Type: "container", Action: "exec_start: sh", Actor: actor })).toBeUndefined();
    expect(fromDockerEvent({ Type: "network", Action: "connect", Actor: actor })).toBeUndefined();
  });
});
