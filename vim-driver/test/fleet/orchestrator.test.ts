import { readFileSync } from "node:fs";
import path from "node:path";
import { IotFogError, createLogger, nodeCapabilitiesSchema, type AgentClient } from "@openiotfog/shared";
import { EventLog } from "../../src/fleet/events";
import { Orchestrator } from "../../src/fleet/orchestrator";
import type { FleetNode } from "../../src/fleet/types";

const root = path.resolve(__dirname, "../../..");
const hello = readFileSync(path.join(root, "examples/hello.yaml"), "utf8");
const zigbee = readFileSync(path.join(root, "examples/zigbee-gateway.yaml"), "utf8");

function node(nodeId: string, arch: "amd64" | "arm64"): FleetNode {
  return {
    nodeId,
    online: true,
    lastSeen: 0,
    endpoint: "tcp://127.0.0.1:1",
    capabilities: nodeCapabilitiesSchema.parse({
      schemaVersion: 1,
      nodeId,
      hostname: nodeId,
      platform: { arch, os: "linux" },
      agentVersion: "0.1.0",
      resources: {
        cpu: { cores: 2 },
        memory: { totalBytes: 2 * 1024 ** 3, freeBytes: 1024 ** 3 },
        disk: { totalBytes: 1e10, freeBytes: 5e9 },
      },
      labels: { zone: "office" },
    }),
  };
}

function setup() {
  const nodes = [node("pi-a", "arm64"), node("pc-b", "amd64")];
  const agentCalls: string[] = [];
  const events = new EventLog();
  const orchestrator = new Orchestrator({
    fleet: { nodes: () => nodes, node: (id) => nodes.find((n) => n.nodeId === id) },
    agents: {
      // Every call fails like an unreachable agent; the test only records what was asked.
      client: (id) =>
        ({
          call: async (command: string) => {
            agentCalls.push(`${id}:${command}`);
            throw new IotFogError("UNAVAILABLE", `no agent in a unit test (${id})`);
          },
        }) as unknown as AgentClient,
    },
    events,
    logger: createLogger({ component: "test", silent: true }),
    requestTimeoutMs: 100,
    deployTimeoutMs: 100,
    imageTransferTimeoutMs: 100,
  });
  return { orchestrator, agentCalls, events };
}

describe("Orchestrator (no agents needed)", () => {
  it("explains a placeable blueprint: one decision per replica, scores on every node", () => {
    const { orchestrator } = setup();
    const r = orchestrator.explain({ blueprint: hello });
    expect(r).toMatchObject({ name: "hello", feasible: true, problems: [] });
    expect(r.decisions).toHaveLength(1);
    const d = r.decisions[0]!.decision;
    expect(d.ok).toBe(true);
    expect(d.explanation.nodesEvaluated).toBe(2);
  });

  it("explains an unplaceable blueprint with every failed predicate on every node", () => {
    const { orchestrator } = setup();
    const r = orchestrator.explain({ blueprint: zigbee });
    expect(r.feasible).toBe(false);
    const z2m = r.decisions.find((d) => d.service === "zigbee2mqtt")!.decision;
    expect(z2m.ok).toBe(false);
    for (const n of z2m.explanation.nodes) {
      expect(n.failures.length).toBeGreaterThan(1);
      expect(n.failures.map((f) => f.predicate).join(" ")).toContain("zone");
    }
  });

  it("plans what-if scenarios: losing the only node that fits", () => {
    const { orchestrator } = setup();
    const r = orchestrator.explain({ blueprint: hello }, { nMinusOne: true });
    expect(r.scenarios?.length).toBe(1);
    expect(r.scenarios?.[0]?.feasible).toBe(true);
  });

  it("refuses an unplaceable deployment before talking to any agent, with the explanation", async () => {
    const { orchestrator, agentCalls, events } = setup();
    const err = await orchestrator.deploy({ blueprint: zigbee }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IotFogError);
    expect((err as IotFogError).code).toBe("PLACEMENT_FAILED");
    expect((err as IotFogError).details?.decisions).toBeDefined();
    // It asked what runs (a refresh), but deployed nothing.
    expect(agentCalls.filter((c) => !c.endsWith(":list"))).toEqual([]);
    expect(await orchestrator.list()).toEqual([]);
    expect(events.recent({ types: ["deployment.failed"] })).toHaveLength(1);
  });

  it("names bad requests: bad name, unknown node in a what-if, blueprint errors", () => {
    const { orchestrator } = setup();
    expect(() => orchestrator.resolve({ blueprint: hello, name: "Bad_Name" })).toThrow(/field "name"/);
    expect(() => orchestrator.whatIf({ lostNodes: ["ghost"], lostDevices: [] })).toThrow(/node "ghost"/);
    expect(() => orchestrator.resolve({ blueprint: "tosca_definitions_version: nope" })).toThrow(IotFogError);
    expect(() => orchestrator.resolve({ services: [{ name: "x" }] })).toThrow(/services\[0\]/);
  });
});
