/**
 * DeploymentManager over an in-memory container runtime (memory-runtime.ts): idempotent deploys, the
 * reconcile loop, and re-adoption of containers after an agent restart, without Docker. The same paths against
 * the real engine: test/integration/agent-endpoint.test.ts and agent-process.test.ts.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  IotFogError,
  createLogger,
  deployParamsSchema,
  type DeployParams,
  type NodeEventType,
} from "@openiotfog/shared";
import { agentConfigSchema, resolveAgentConfig, type AgentConfig } from "../src/config";
import { DeploymentManager, type ReconcileAction } from "../src/deploy/manager";
import { DEPLOYMENT_LABEL, NODE_LABEL, SPEC_HASH_LABEL } from "../src/runtime/runtime";
import { StateStore } from "../src/state/store";
import { node } from "../../shared/test/fixtures";
import { MemoryRuntime } from "./memory-runtime";

const logger = createLogger({ component: "test", silent: true });
const IMAGE = "openiotfog/testbox:latest";
const NODE = "n1";

function params(id: string, spec: Record<string, unknown> = {}): DeployParams {
  return deployParamsSchema.parse({
    deploymentId: id,
    spec: { name: "svc", image: IMAGE, command: ["sleep", "3600"], ...spec },
  });
}

describe("DeploymentManager (in-memory runtime)", () => {
  let dir: string;
  let config: AgentConfig;
  let runtime: MemoryRuntime;
  const managers: DeploymentManager[] = [];
  let events: Array<{ type: NodeEventType; data: Record<string, unknown> }>;
  let actions: ReconcileAction[];

  const capabilities = {
    current: () => node(NODE).capabilities,
    discoveredDevicePaths: async () => new Set<string>(),
  };

  /** A manager as the agent builds one (a restart is a new manager over the same data directory and engine). */
  async function startManager(): Promise<DeploymentManager> {
    const store = new StateStore(dir, NODE, logger);
    const m = new DeploymentManager(config, runtime, store, capabilities, logger);
    m.observe({
      event: (type, data) => events.push({ type, data }),
      reconcileAction: (a) => actions.push(a),
    });
    managers.push(m);
    await m.start();
    return m;
  }

  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), "iotfog-deployments-"));
    // No periodic pass: each test runs reconcile itself.
    config = resolveAgentConfig(
      agentConfigSchema.parse({ nodeId: NODE, dataDir: dir, reconcileIntervalMs: 0 }),
    );
    runtime = new MemoryRuntime(NODE, [IMAGE]);
    events = [];
    actions = [];
  });

  afterEach(async () => {
    for (const m of managers.splice(0)) await m.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  describe("deploy is idempotent by deployment id", () => {
    it("creates and starts one labelled container, and a repeat returns the first result without touching the engine", async () => {
      const m = await startManager();
      const first = await m.deploy(params("d1"));
      expect(first).toMatchObject({
        created: true,
        deployment: { deploymentId: "d1", nodeId: NODE, desired: "running", state: "running" },
      });
      const [container] = [...runtime.containers.values()];
      expect(container?.labels).toMatchObject({ [DEPLOYMENT_LABEL]: "d1", [NODE_LABEL]: NODE });
      expect(container?.labels[SPEC_HASH_LABEL]).toMatch(/^[0-9a-f]{64}$/);
      const callsBefore = runtime.calls.length;

      const again = await m.deploy(params("d1"));
      expect(again).toEqual(first);
      expect(runtime.calls.length).toBe(callsBefore);
      expect(runtime.count("create")).toBe(1);
      expect(events.filter((e) => e.type === "deployment.created")).toHaveLength(1);
    });

    it("runs concurrent identical deploys one after the other: one container, the same answer twice", async () => {
      const m = await startManager();
      const [a, b] = await Promise.all([m.deploy(params("d1")), m.deploy(params("d1"))]);
      expect(b).toEqual(a);
      expect(runtime.count("create")).toBe(1);
      expect(runtime.containers.size).toBe(1);
    });

    it("refuses the same id with a different request (CONFLICT) and leaves the first deployment as it was", async () => {
      const m = await startManager();
      await m.deploy(params("d1"));
      await expect(m.deploy(params("d1", { env: { MODE: "other" } }))).rejects.toMatchObject({
        code: "CONFLICT",
      });
      expect(runtime.count("create")).toBe(1);
      expect(await m.list()).toEqual([expect.objectContaining({ deploymentId: "d1", state: "running" })]);
    });

    it("keeps nothing of a deploy whose container could not be created: no record, no container, and a retry runs anew", async () => {
      const m = await startManager();
      runtime.failNextCreate = new IotFogError("RUNTIME_ERROR", "engine said no");
      await expect(m.deploy(params("d1"))).rejects.toMatchObject({ code: "RUNTIME_ERROR" });
      expect(await m.list()).toEqual([]);
      expect(runtime.containers.size).toBe(0);
      await expect(m.deploy(params("d1"))).resolves.toMatchObject({ created: true });
      expect(runtime.containers.size).toBe(1);
    });

    it("refuses an image the node does not have and cannot pull, before saving anything", async () => {
      const m = await startManager();
      await expect(m.deploy(params("d1", { image: "openiotfog/absent:1" }))).rejects.toMatchObject({
        code: "IMAGE_NOT_FOUND",
      });
      expect(runtime.count("pull")).toBe(1);
      expect(await m.list()).toEqual([]);
    });

    it("refuses with ADMISSION_REFUSED what the node cannot hold, and creates nothing", async () => {
      const m = await startManager();
      await expect(
        m.deploy(params("big", { resources: { memoryBytes: 64 * 1024 ** 3 } })),
      ).rejects.toMatchObject({
        code: "ADMISSION_REFUSED",
      });
      expect(runtime.count("create")).toBe(0);
    });
  });

  describe("reconcile keeps the containers in line with the saved desired state", () => {
    it("re-creates and starts a container removed behind the agent's back", async () => {
      const m = await startManager();
      await m.deploy(params("d1"));
      const [old] = [...runtime.containers.keys()];
      runtime.containers.delete(old!);

      await m.reconcile(false);
      const [now] = [...runtime.containers.values()];
      expect(now).toMatchObject({ state: "running", labels: { [DEPLOYMENT_LABEL]: "d1" } });
      expect(now?.id).not.toBe(old);
      expect(actions).toEqual(["recreated"]);
      expect(events.map((e) => e.type)).toContain("deployment.recreated");
    });

    it("starts a container left `created`, and leaves a running one alone (one listing, no other call)", async () => {
      const m = await startManager();
      await m.deploy(params("d1"));
      const [c] = [...runtime.containers.values()];
      c!.state = "created";
      await m.reconcile(false);
      expect(c!.state).toBe("running");
      expect(actions).toEqual(["started"]);

      const callsBefore = runtime.calls.length;
      await m.reconcile(false);
      expect(runtime.calls.slice(callsBefore)).toEqual(["list"]);
    });

    it("does not start what was stopped on purpose, and re-creates it stopped when it is gone", async () => {
      const m = await startManager();
      await m.deploy(params("d1"));
      await m.stopDeployment("d1", 1);
      await m.reconcile(false);
      expect([...runtime.containers.values()][0]?.state).toBe("exited");

      runtime.containers.clear();
      await m.reconcile(false);
      expect([...runtime.containers.values()]).toEqual([expect.objectContaining({ state: "created" })]);
      expect(runtime.count("start")).toBe(1);
    });

    it("leaves alone a container of this node that no saved deployment owns", async () => {
      const m = await startManager();
      await runtime.createContainer({
        name: "stranger",
        image: IMAGE,
        env: {},
        ports: [],
        volumes: [],
        devices: [],
        restart: "no",
        networks: [],
        labels: { [DEPLOYMENT_LABEL]: "someone-else" },
      });
      await m.reconcile(false);
      expect([...runtime.containers.values()]).toEqual([expect.objectContaining({ name: "stranger" })]);
      expect(runtime.count("remove")).toBe(0);
    });

    it("reports a reconcile that fails (image gone) as deployment.failed and goes on with the others", async () => {
      const m = await startManager();
      await m.deploy(params("d0"));
      await m.deploy(params("d2"));
      runtime.containers.clear();
      runtime.images.delete(IMAGE);
      await m.reconcile(false);
      expect(actions.filter((a) => a === "failed")).toHaveLength(2);
      expect(
        events
          .filter((e) => e.type === "deployment.failed")
          .map((e) => e.data.deploymentId)
          .sort(),
      ).toEqual(["d0", "d2"]);
    });
  });

  describe("re-adoption after an agent restart", () => {
    it("adopts the running container by its label: nothing created, the first deploy's answer still returned", async () => {
      const first = await (await startManager()).deploy(params("d1"));
      await managers.pop()!.stop();
      const creates = runtime.count("create");

      const restarted = await startManager();
      expect(runtime.count("create")).toBe(creates);
      expect(events.filter((e) => e.type === "deployment.adopted").map((e) => e.data)).toEqual([
        { deploymentId: "d1", state: "running" },
      ]);
      await expect(restarted.deploy(params("d1"))).resolves.toEqual(first);
      await expect(restarted.inspect("d1")).resolves.toMatchObject({
        state: "running",
        containerId: first.deployment.containerId,
      });
    });

    it("starts at start-up a desired-running container the engine did not restart, unless its restart policy is `no`", async () => {
      const m = await startManager();
      await m.deploy(params("keep"));
      await m.deploy(params("once", { restart: "no" }));
      await managers.pop()!.stop();
      // A reboot: the engine brought nothing back.
      for (const c of runtime.containers.values()) c.state = "exited";

      const restarted = await startManager();
      const states = Object.fromEntries((await restarted.list()).map((d) => [d.deploymentId, d.state]));
      expect(states).toEqual({ keep: "running", once: "exited" });
      expect(actions).toEqual(["started"]);
    });

    it("re-creates at start-up the container of a saved deployment that is gone", async () => {
      await (await startManager()).deploy(params("d1"));
      await managers.pop()!.stop();
      runtime.containers.clear();

      const restarted = await startManager();
      expect(await restarted.list()).toEqual([
        expect.objectContaining({ deploymentId: "d1", state: "running" }),
      ]);
      expect(actions).toEqual(["recreated"]);
    });
  });

  it("remove takes the container and the saved state; a second remove says there was nothing", async () => {
    const m = await startManager();
    await m.deploy(params("d1"));
    await expect(m.removeDeployment("d1", 1)).resolves.toEqual({ deploymentId: "d1", removed: true });
    expect(runtime.containers.size).toBe(0);
    await expect(m.removeDeployment("d1", 1)).resolves.toEqual({ deploymentId: "d1", removed: false });
    await m.reconcile(false);
    expect(runtime.containers.size).toBe(0);
  });
});
