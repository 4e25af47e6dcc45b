/**
 * Fencing (issue 13 item 4) with real parts: two `iotfog agent` processes on the real Docker engine, each with a
 * ZigBee stick (a discovery tree whose stick is /dev/null), one of them in its own network namespace cut off
 * silently with nftables, a Mosquitto of the test's own, and the driver's fleet parts in this process. A
 * ZigBee-stick service with `fence_after` is fenced by the cut-off agent itself, placed again on the other node
 * only after that, and the returning node removes its fenced copy: sampled continuously on the one Docker engine
 * both agents use, the service never runs twice. A fenced replica still declared on its node (nowhere else can
 * take it) stays stopped while cut off and is started again by the driver when the node is back, and an agent
 * restarted while cut off starts fenced. No timings are asserted (bench/failover.ts measures them).
 */
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseConstraints } from "@openiotfog/shared";
import { startFleetDriver, type FleetDriver } from "../helpers/fleet-driver";
import {
  createIsolatedNode,
  spawnAgentProcess,
  startOwnBroker,
  writeAgentConfig,
  type IsolatedNode,
  type OwnBroker,
} from "../helpers/netns";
import { stopProcess } from "../helpers/processes";
import {
  TEST_IMAGE,
  docker,
  removeContainersByLabel,
  requireDocker,
  uniqueName,
  waitFor,
} from "../helpers/services";
import { passthroughTree } from "./agent-helpers";

const preferVictim = [
  { weight: 100, term: { attribute: "node.labels.role", operator: "==", value: "primary" } },
];
const stickService = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  image: TEST_IMAGE,
  command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"],
  devices: [{ class: "zigbee" }],
  ...extra,
});

/** Samples, one after the other, which nodes run a container of one replica; stopped with `stop()`. */
function sampleRunning(agentId: string): { stop: () => Promise<string[][]> } {
  const samples: string[][] = [];
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const list = await docker().listContainers({
        filters: { label: [`org.openiotfog.deployment=${agentId}`], status: ["running"] },
      });
      samples.push(list.map((c) => c.Labels["org.openiotfog.node"] ?? "?").sort());
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop;
      return samples;
    },
  };
}

describe("fencing: a ZigBee-stick service across a silent loss and a return, real agents", () => {
  let node: IsolatedNode | undefined;
  let broker: OwnBroker | undefined;
  let driver: FleetDriver | undefined;
  const agents = new Map<string, ChildProcess>();
  const configs = new Map<string, string>();
  const dir = mkdtempSync(path.join(os.tmpdir(), "iotfog-fencing-"));
  const prefix = uniqueName("iotfog-fencing");
  const victim = uniqueName("fe-victim");
  const spare = uniqueName("fe-spare");

  const running = async (agentId: string, all = false): Promise<string[]> =>
    (
      await docker().listContainers({ all, filters: { label: [`org.openiotfog.deployment=${agentId}`] } })
    ).map((c) => c.Labels["org.openiotfog.node"] ?? "?");
  const online = (id: string) => (driver as FleetDriver).view.node(id)?.online === true;
  const stickOf = (id: string) =>
    (driver as FleetDriver).view.node(id)?.capabilities?.devices.some((d) => d.class === "zigbee") === true;

  beforeAll(async () => {
    await requireDocker();
    node = createIsolatedNode();
    broker = await startOwnBroker(node.hostAddress);
    const common = { dir, brokerUrl: broker.url, prefix };
    for (const [id, bindHost, role] of [
      [victim, node.nodeAddress, "primary"],
      [spare, "127.0.0.1", "spare"],
    ] as const) {
      const file = await writeAgentConfig({
        ...common,
        nodeId: id,
        bindHost,
        labels: { role },
        discovery: passthroughTree(path.join(dir, `${id}-tree`)),
      });
      configs.set(id, file);
      agents.set(id, spawnAgentProcess(file, id === victim ? node : undefined));
    }
    driver = await startFleetDriver({
      mqtt: { url: broker.url, topicPrefix: prefix },
      fleet: { stateFile: path.join(dir, "fleet.json"), reconcileIntervalMs: 1000 },
    });
    await waitFor(() => online(victim) && online(spare) && stickOf(victim) && stickOf(spare), {
      timeoutMs: 30000,
      what: "both agents and their sticks in the fleet view",
    });
  });

  afterAll(async () => {
    node?.restore();
    await driver?.stop();
    for (const a of agents.values()) await stopProcess(a, { killAfterMs: 5000 });
    for (const id of [victim, spare]) await removeContainersByLabel("org.openiotfog.node", id);
    await broker?.stop();
    node?.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Cut, then let traffic through again once `whileCut` is done; waits for the node back online. */
  async function cutOff(whileCut: () => Promise<void>): Promise<void> {
    const n = node as IsolatedNode;
    n.cut();
    try {
      await waitFor(() => !online(victim), { timeoutMs: 30000, what: "the victim seen lost" });
      await whileCut();
    } finally {
      n.restore();
    }
    await waitFor(() => online(victim), { timeoutMs: 60000, what: "the victim back online" });
  }

  it("the cut-off node fences its copy, the replacement starts after it, the return removes it: never two running", async () => {
    const o = (driver as FleetDriver).orchestrator;
    const placed = await o.deploy({
      name: "fe-zb",
      services: [stickService("zb", { preferences: preferVictim, failover: { fenceAfterMs: 3000 } })],
    });
    expect(placed.replicas[0]?.nodeId).toBe(victim);
    await waitFor(async () => (await running("fe-zb.zb.0")).includes(victim), {
      what: "the replica running on the victim",
    });
    const sampler = sampleRunning("fe-zb.zb.0");
    let samples: string[][] = [];
    try {
      await cutOff(async () => {
        await waitFor(async () => (await running("fe-zb.zb.0")).includes(spare), {
          timeoutMs: 60000,
          what: "the replica running on the spare node",
        });
        // The cut-off node stopped its copy itself (nobody could tell it) and keeps it stopped.
        expect(await running("fe-zb.zb.0")).toEqual([spare]);
        expect((await running("fe-zb.zb.0", true)).sort()).toEqual([spare, victim].sort());
      });
      await waitFor(async () => (await running("fe-zb.zb.0", true)).length === 1, {
        timeoutMs: 60000,
        what: "the returning node's fenced copy removed",
      });
      // A few more samples after the return: the removed copy does not come back.
      await new Promise((r) => setTimeout(r, 3000));
    } finally {
      samples = await sampler.stop();
    }
    expect(await running("fe-zb.zb.0", true)).toEqual([spare]);
    expect(samples.filter((s) => s.length > 1)).toEqual([]);
    // The samples saw the whole story: the victim running, nothing, then the spare.
    const firstSpare = samples.findIndex((s) => s[0] === spare);
    expect(samples[0]).toEqual([victim]);
    expect(firstSpare).toBeGreaterThan(0);
    expect(samples.slice(0, firstSpare).some((s) => s.length === 0)).toBe(true);
    expect(samples.slice(firstSpare).every((s) => s.length === 1 && s[0] === spare)).toBe(true);
    expect((await o.get("fe-zb")).replicas[0]).toMatchObject({ nodeId: spare, state: "running" });
    await o.remove("fe-zb");
  });

  it("a fenced replica declared nowhere else stays stopped while cut off, also across an agent restart, and the driver starts it on return", async () => {
    const o = (driver as FleetDriver).orchestrator;
    await o.deploy({
      name: "fe-pinned",
      services: [
        stickService("zb", {
          constraints: parseConstraints(["node.labels.role == primary"], "test"),
          failover: { fenceAfterMs: 3000 },
        }),
      ],
    });
    await waitFor(async () => (await running("fe-pinned.zb.0")).includes(victim), {
      what: "the replica running on the victim",
    });
    await cutOff(async () => {
      await waitFor(async () => (await running("fe-pinned.zb.0")).length === 0, {
        timeoutMs: 30000,
        what: "the cut-off agent fencing its replica",
      });
      expect(await running("fe-pinned.zb.0", true)).toEqual([victim]);
      // The agent restarts while still cut off (a reboot in an outage): it starts fenced, restarts nothing.
      const file = configs.get(victim) as string;
      await stopProcess(agents.get(victim) as ChildProcess, { killAfterMs: 5000 });
      await docker()
        .getContainer(
          (
            await docker().listContainers({
              all: true,
              filters: { label: ["org.openiotfog.deployment=fe-pinned.zb.0"] },
            })
          )[0]?.Id as string,
        )
        .start();
      agents.set(victim, spawnAgentProcess(file, node as IsolatedNode));
      await waitFor(async () => (await running("fe-pinned.zb.0")).length === 0, {
        timeoutMs: 30000,
        what: "the restarted agent stopping the copy Docker ran again",
      });
      expect((await o.get("fe-pinned")).replicas[0]?.nodeId).toBe(victim);
    });
    await waitFor(async () => (await running("fe-pinned.zb.0")).includes(victim), {
      timeoutMs: 60000,
      what: "the driver starting the fenced replica again on its node",
    });
    expect(await running("fe-pinned.zb.0", true)).toEqual([victim]);
    await waitFor(async () => (await o.get("fe-pinned")).replicas[0]?.state === "running", {
      what: "the driver showing it running",
    });
    await o.remove("fe-pinned");
  });
});
