/**
 * Exclusive devices under races (issue 17, item 4): one node with one ZigBee stick (a discovery tree whose stick
 * is /dev/null), the real driver with its fleet API and the NFVO emulator, real RabbitMQ, Mosquitto and Docker.
 * Two deploys claim the stick at the same moment (two fleet API deploys, two Open Baton launches, one of each):
 * exactly one wins and the other is refused with the lease explanation. A container that dies releases its lease,
 * and no two deployments ever hold the stick.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { AgentClient, type ServiceSpecInput } from "@openiotfog/shared";
import { formatFogSpec } from "@openiotfog/vim-driver/openbaton/fog-spec";
import { startAgentsInProcess, type InProcessAgents } from "../helpers/agents";
import {
  MQTT_URL,
  TEST_IMAGE,
  docker,
  freePort,
  requireDocker,
  requireMqtt,
  uniqueName,
  waitFor,
} from "../helpers/services";
import { PluginException } from "../nfvo-emulator";
import { startDriverHarness, type DriverHarness } from "../nfvo-emulator/harness";
import { passthroughTree } from "./agent-helpers";

/** How a refused claim is told: placement's device filter (in use by <holder>) or the agent's lease rule. */
const LEASE_EXPLAINED =
  /device zigbee \(0 of 1 node have a free one; .* in use by |is already held by .* exclusively/;

const gateway = (name: string, extra: Partial<ServiceSpecInput> = {}): ServiceSpecInput => ({
  name,
  image: TEST_IMAGE,
  command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"],
  devices: [{ class: "zigbee" }],
  ...extra,
});

describe("exclusive devices under races: one stick, two claims at the same moment", () => {
  const prefix = uniqueName("iotfog-race");
  const token = "race-test-token-0123456789abcdef";
  let tree: string;
  let fleet: InProcessAgents | undefined;
  let client: AgentClient;
  let h: DriverHarness;
  let apiUrl: string;

  /** Deployments on the node holding the stick whose container runs: never more than one. */
  async function runningHolders(): Promise<string[]> {
    const { deployments } = await client.call("list", {});
    return deployments
      .filter((d) => d.state === "running" && d.devices.length > 0)
      .map((d) => d.deploymentId);
  }

  async function apiDeploy(name: string): Promise<{ status: number; body: Record<string, unknown> }> {
    const res = await fetch(`${apiUrl}/api/v1/deployments`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ name, services: [gateway("zigbee-gw")] }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  async function apiRemove(name: string): Promise<void> {
    const res = await fetch(`${apiUrl}/api/v1/deployments/${name}`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${token}` },
    });
    expect([200, 202, 204]).toContain(res.status);
  }

  /** An Open Baton launch of a ZigBee gateway: the VNFC or the NFVO's exception. */
  async function launch(vnfrName: string): Promise<{ hostname: string } | PluginException> {
    return h.emulator
      .allocate(h.vim.name, {
        vnfrName,
        vmImage: TEST_IMAGE,
        connectionPoints: [{ virtual_link_reference: "race-lan" }],
        userdata: `#Hostname=\n${formatFogSpec({ command: ["sh", "-c", "while true; do sleep 1; done"], devices: [{ class: "zigbee" }] })}\n`,
      })
      .then(
        (vnfc) => ({ hostname: String(vnfc.hostname) }),
        (e: unknown) => {
          if (e instanceof PluginException) return e;
          throw e;
        },
      );
  }

  beforeAll(async () => {
    await requireDocker();
    await requireMqtt();
    tree = mkdtempSync(path.join(os.tmpdir(), "iotfog-race-tree-"));
    fleet = await startAgentsInProcess([
      {
        labels: { zone: "line-1" },
        discovery: { ...passthroughTree(tree), refreshIntervalMs: 1000, deviceScanIntervalMs: 500 },
        mqtt: { url: MQTT_URL, topicPrefix: prefix, keepaliveSeconds: 1 },
        runtime: { pullMissingImages: false },
        hardware: { bind: "tcp://127.0.0.1:*", udev: false },
      },
    ]);
    client = new AgentClient({
      endpoint: fleet.agents[0]!.endpoint.advertise,
      timeoutMs: 20000,
      retries: 0,
      curve: fleet.setups[0]!.curve,
    });
    const port = await freePort();
    apiUrl = `http://127.0.0.1:${port}`;
    h = await startDriverHarness({
      topicPrefix: prefix,
      driver: {
        launchTimeoutMs: 60000,
        api: {
          enabled: true,
          host: "127.0.0.1",
          port,
          token,
          gui: false,
          tokenFile: path.join(tree, "api-token"),
        },
      },
    });
    await h.emulator.registerVim(h.vim);
    await h.waitForNodes(1);
  });

  afterAll(async () => {
    await client?.close();
    // The launches' network on the node (Docker's address pools are few: a leaked network takes one).
    await h?.emulator.call(h.vim, "deleteNetwork", ["iotfog-race-lan"], "Boolean").catch(() => undefined);
    await h?.close();
    await fleet?.stop();
    if (tree) rmSync(tree, { recursive: true, force: true });
  });

  afterEach(async () => {
    expect((await runningHolders()).length).toBeLessThanOrEqual(1);
    // The next race starts when the driver's placement sees the stick free again (its view of what each node
    // runs follows the agents' answers).
    await waitFor(
      async () => {
        const res = await fetch(`${apiUrl}/api/v1/placement/explain`, {
          method: "POST",
          headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
          body: JSON.stringify({ name: uniqueName("probe"), services: [gateway("probe-gw")] }),
        });
        return ((await res.json()) as { feasible?: boolean }).feasible === true;
      },
      { timeoutMs: 20000, what: "the stick free in the driver's placement" },
    );
    // ...and when the driver no longer keeps the last race's deployment: an Open Baton delete is answered before
    // the driver drops its record, and a record still declared reserves the stick for placement.
    await waitFor(
      async () => {
        const res = await fetch(`${apiUrl}/api/v1/deployments`, {
          headers: { authorization: `Bearer ${token}` },
        });
        const { deployments } = (await res.json()) as { deployments: unknown[] };
        const servers = (await h.emulator.call(h.vim, "listServer", [], "List<Server>")) as unknown[];
        return deployments.length === 0 && servers.length === 0;
      },
      { timeoutMs: 20000, what: "no deployment left in the driver" },
    );
  });

  it("two fleet API deploys at the same moment: one runs, the other is refused with the lease explanation", async () => {
    const [a, b] = [uniqueName("race-a"), uniqueName("race-b")];
    const results = await Promise.all([apiDeploy(a), apiDeploy(b)]);
    const won = results.filter((r) => r.status === 201);
    const lost = results.filter((r) => r.status !== 201);
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    expect(lost[0]!.status).toBe(422);
    expect(JSON.stringify(lost[0]!.body)).toMatch(LEASE_EXPLAINED);
    console.log(`fleet API race: the refused deploy was told ${JSON.stringify(lost[0]!.body)}`);
    expect(await runningHolders()).toHaveLength(1);
    await apiRemove(results[0].status === 201 ? a : b);
    await waitFor(async () => (await runningHolders()).length === 0, { what: "the winner removed" });
  });

  it("two deploys straight to the agent at the same moment: one runs, the other is refused by admission", async () => {
    const ids = [uniqueName("zmq-a"), uniqueName("zmq-b")];
    const results = await Promise.allSettled(
      ids.map((deploymentId) => client.call("deploy", { deploymentId, spec: gateway("zmq-gw") })),
    );
    const won = results.filter((r) => r.status === "fulfilled");
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    expect(lost[0]!.reason).toMatchObject({
      code: "ADMISSION_REFUSED",
      message: expect.stringMatching(LEASE_EXPLAINED),
    });
    expect(await runningHolders()).toHaveLength(1);
    for (const deploymentId of ids) await client.call("remove", { deploymentId, timeoutSeconds: 0 });
  });

  it("two Open Baton launches at the same moment: one VNFC, the other launch fails with the lease explanation", async () => {
    const results = await Promise.all([launch("gw-a"), launch("gw-b")]);
    const won = results.filter((r): r is { hostname: string } => !(r instanceof PluginException));
    const lost = results.filter((r): r is PluginException => r instanceof PluginException);
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    const detail = lost[0]!.vimDriverException?.detailMessage ?? "";
    expect(detail).toMatch(LEASE_EXPLAINED);
    console.log(`Open Baton race: the refused launch was told: ${detail}`);
    expect(await runningHolders()).toHaveLength(1);
    const server = (await h.emulator.call(h.vim, "listServer", [], "List<Server>")) as Array<{
      extId: string;
      name: string;
    }>;
    for (const s of server) await h.emulator.call(h.vim, "deleteServerByIdAndWait", [s.extId], null);
    await waitFor(async () => (await runningHolders()).length === 0, { what: "the VNFC removed" });
  });

  it("a fleet API deploy and an Open Baton launch at the same moment: exactly one holds the stick", async () => {
    const name = uniqueName("race-api");
    const [api, ob] = await Promise.all([apiDeploy(name), launch("gw-ob")]);
    const apiWon = api.status === 201;
    const obWon = !(ob instanceof PluginException);
    expect([apiWon, obWon].filter(Boolean)).toHaveLength(1);
    const explanation = apiWon
      ? ((ob as PluginException).vimDriverException?.detailMessage ?? "")
      : JSON.stringify(api.body);
    expect(explanation).toMatch(LEASE_EXPLAINED);
    console.log(
      `mixed race: ${apiWon ? "the fleet API" : "Open Baton"} won; the other was told: ${explanation}`,
    );
    expect(await runningHolders()).toHaveLength(1);
    if (apiWon) await apiRemove(name);
    else {
      const servers = (await h.emulator.call(h.vim, "listServer", [], "List<Server>")) as Array<{
        extId: string;
      }>;
      for (const s of servers) await h.emulator.call(h.vim, "deleteServerByIdAndWait", [s.extId], null);
    }
    await waitFor(async () => (await runningHolders()).length === 0, { what: "the winner removed" });
  });

  it("a container that dies releases the lease: the refused claim then succeeds, the dead one cannot take it back", async () => {
    const first = uniqueName("dies");
    const second = uniqueName("waits");
    // Dies for good: no restart policy brings it back.
    await client.call("deploy", { deploymentId: first, spec: gateway("first-gw", { restart: "no" }) });
    await expect(
      client.call("deploy", { deploymentId: second, spec: gateway("second-gw") }),
    ).rejects.toMatchObject({ code: "ADMISSION_REFUSED", message: expect.stringMatching(LEASE_EXPLAINED) });
    const dying = await client.call("inspect", { deploymentId: first });
    await docker().getContainer(dying.containerId!).kill();
    await waitFor(async () => (await client.call("inspect", { deploymentId: first })).state === "exited", {
      what: "the first container dead",
    });
    const res = await client.call("deploy", { deploymentId: second, spec: gateway("second-gw") });
    expect(res.deployment.state).toBe("running");
    // Starting the dead one again would hold the stick twice: refused, naming the holder.
    await expect(client.call("start", { deploymentId: first })).rejects.toMatchObject({
      message: expect.stringMatching(new RegExp(`already held by ${second}`)),
    });
    expect(await runningHolders()).toEqual([second]);
    await client.call("remove", { deploymentId: first, timeoutSeconds: 0 });
    await client.call("remove", { deploymentId: second, timeoutSeconds: 0 });
  });
});
