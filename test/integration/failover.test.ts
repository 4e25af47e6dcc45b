/**
 * Self-healing fleet (issue 13) with real parts: two real agents as `iotfog agent` processes on the real Docker
 * engine, one of them in its own network namespace that is cut off silently (nftables drops its veth traffic: no
 * TCP close), a Mosquitto of the test's own on the veth's host address, and the driver's fleet parts (fleet view,
 * agent pool, orchestrator with declared state and reconciler) in this process. A replica of the lost node is
 * placed again on the other node; when the node returns its copy is removed (never two running); a replica only
 * the lost node can take is pending with its explanation; a driver restart in the middle of a failover keeps the
 * declared state and what the returning node owes. No timings are asserted (bench/failover.ts measures them).
 */
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
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

const preferVictim = [
  { weight: 100, term: { attribute: "node.labels.role", operator: "==", value: "primary" } },
];

describe("failover: a node cut off silently, real agents", () => {
  let node: IsolatedNode | undefined;
  let broker: OwnBroker | undefined;
  let driver: FleetDriver | undefined;
  const agents: ChildProcess[] = [];
  const dir = mkdtempSync(path.join(os.tmpdir(), "iotfog-failover-"));
  const prefix = uniqueName("iotfog-failover");
  const victim = uniqueName("fo-victim");
  const spare = uniqueName("fo-spare");
  const stateFile = path.join(dir, "fleet.json");
  const driverConfig = () => ({
    mqtt: { url: (broker as OwnBroker).url, topicPrefix: prefix },
    fleet: { stateFile, reconcileIntervalMs: 1000 },
  });

  /** The nodes holding a container of one replica (agent deployment id): running ones only unless `all`. */
  const running = async (agentId: string, all = false): Promise<string[]> =>
    (
      await docker().listContainers({ all, filters: { label: [`org.openiotfog.deployment=${agentId}`] } })
    ).map((c) => c.Labels["org.openiotfog.node"] ?? "?");

  const online = (id: string) => (driver as FleetDriver).view.node(id)?.online === true;

  beforeAll(async () => {
    await requireDocker();
    node = createIsolatedNode();
    broker = await startOwnBroker(node.hostAddress);
    const common = { dir, brokerUrl: broker.url, prefix };
    const v = await writeAgentConfig({
      ...common,
      nodeId: victim,
      bindHost: node.nodeAddress,
      labels: { role: "primary" },
    });
    const s = await writeAgentConfig({
      ...common,
      nodeId: spare,
      bindHost: "127.0.0.1",
      labels: { role: "spare" },
    });
    agents.push(spawnAgentProcess(v, node), spawnAgentProcess(s));
    driver = await startFleetDriver(driverConfig());
    await waitFor(() => online(victim) && online(spare), {
      timeoutMs: 30000,
      what: "both agents in the fleet view",
    });
  });

  afterAll(async () => {
    node?.restore();
    await driver?.stop();
    for (const a of agents) await stopProcess(a, { killAfterMs: 5000 });
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

  it("a replica of the lost node runs again on the other node; the returning node's copy is removed", async () => {
    const o = (driver as FleetDriver).orchestrator;
    const placed = await o.deploy({
      name: "fo-web",
      services: [{ name: "web", image: TEST_IMAGE, command: ["sleep", "3600"], preferences: preferVictim }],
    });
    expect(placed.replicas[0]?.nodeId).toBe(victim);
    await cutOff(async () => {
      await waitFor(async () => (await running("fo-web.web.0")).includes(spare), {
        timeoutMs: 60000,
        what: "the replica running on the spare node",
      });
      // The cut-off node still runs its copy (nobody can tell it yet).
      expect((await running("fo-web.web.0")).sort()).toEqual([spare, victim].sort());
      await waitFor(async () => (await o.get("fo-web")).replicas[0]?.state === "running", {
        what: "the driver showing the replica running",
      });
      expect((await o.get("fo-web")).replicas[0]).toMatchObject({ nodeId: spare, state: "running" });
    });
    await waitFor(async () => (await running("fo-web.web.0", true)).length === 1, {
      timeoutMs: 60000,
      what: "the returning node's copy removed",
    });
    expect(await running("fo-web.web.0", true)).toEqual([spare]);
    expect(await running("fo-web.web.0")).toEqual([spare]);
    const types = () => (driver as FleetDriver).events.recent({ limit: 1000 }).map((e) => e.type);
    await waitFor(() => types().includes("replica.removed"), { what: "the removal's event" });
    expect(types()).toEqual(expect.arrayContaining(["node.offline", "replica.replaced", "replica.removed"]));
    await o.remove("fo-web");
  });

  it("a replica only the lost node can take is pending with the explanation, and runs there again when it is back", async () => {
    const o = (driver as FleetDriver).orchestrator;
    await o.deploy({
      name: "fo-pinned",
      blueprint: `tosca_definitions_version: openiotfog_blueprint_1_0
metadata:
  name: fo-pinned
topology_template:
  node_templates:
    gw:
      type: openiotfog.nodes.Container
      properties:
        image: ${TEST_IMAGE}
        command: "sleep 3600"
      placement:
        constraints:
          - node.labels.role == primary
`,
    });
    await cutOff(async () => {
      await waitFor(async () => (await o.get("fo-pinned")).replicas[0]?.state === "pending", {
        timeoutMs: 60000,
        what: "the replica shown pending",
      });
      const r = (await o.get("fo-pinned")).replicas[0];
      expect(r?.nodeId).toBe(victim);
      expect(r?.note).toMatch(/lost; cannot place it elsewhere: .*role.*next try in/);
      expect(await running("fo-pinned.gw.0")).toEqual([victim]);
    });
    await waitFor(async () => (await o.get("fo-pinned")).replicas[0]?.state === "running", {
      timeoutMs: 60000,
      what: "the replica running on its node again",
    });
    expect((await o.get("fo-pinned")).replicas[0]?.note).toBeUndefined();
    expect(await running("fo-pinned.gw.0")).toEqual([victim]);
    await o.remove("fo-pinned");
  });

  it("a driver restart in the middle of a failover keeps the declared placement and what the returning node owes", async () => {
    let o = (driver as FleetDriver).orchestrator;
    await o.deploy({
      name: "fo-restart",
      services: [{ name: "web", image: TEST_IMAGE, command: ["sleep", "3600"], preferences: preferVictim }],
    });
    await cutOff(async () => {
      await waitFor(async () => (await running("fo-restart.web.0")).includes(spare), {
        timeoutMs: 60000,
        what: "the replica running on the spare node",
      });
      const stored = JSON.parse(readFileSync(stateFile, "utf8")) as {
        deployments: Array<{ id: string; replicas: Array<{ nodeId: string }> }>;
        tombstones: Array<{ nodeId: string; agentDeploymentId: string }>;
      };
      expect(stored.deployments.find((d) => d.id === "fo-restart")?.replicas[0]?.nodeId).toBe(spare);
      expect(stored.tombstones).toContainEqual(
        expect.objectContaining({ nodeId: victim, agentDeploymentId: "fo-restart.web.0" }),
      );
      // The driver restarts while the node is still away.
      await (driver as FleetDriver).stop();
      driver = await startFleetDriver(driverConfig());
      o = driver.orchestrator;
      await waitFor(() => online(spare), { timeoutMs: 30000, what: "the spare in the new driver's view" });
      // Known at once from the declared state (states unknown until the agents are asked).
      expect((await o.get("fo-restart")).replicas[0]?.nodeId).toBe(spare);
      await waitFor(
        async () =>
          (await (driver as FleetDriver).orchestrator.get("fo-restart")).replicas[0]?.state === "running",
        {
          what: "the restarted driver showing the replica running",
        },
      );
      expect((await o.get("fo-restart")).replicas[0]).toMatchObject({ nodeId: spare, state: "running" });
    });
    await waitFor(async () => (await running("fo-restart.web.0", true)).length === 1, {
      timeoutMs: 60000,
      what: "the returning node's copy removed by the restarted driver",
    });
    expect(await running("fo-restart.web.0")).toEqual([spare]);
    await o.remove("fo-restart");
  });
});
