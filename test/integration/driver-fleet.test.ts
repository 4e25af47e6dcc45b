/**
 * The real driver placing through two real agents (in-process, distinct node ids, labels and ports) on the
 * real Docker engine, driven by the NFVO emulator over real RabbitMQ and Mosquitto: inventory, networks,
 * launchInstanceAndWait with constraints only one node satisfies, listServer, unsatisfiable placement explained,
 * 8 concurrent launches, idempotent non-blocking delete.
 */
import { formatFogSpec } from "@openiotfog/vim-driver/openbaton/fog-spec";
import { startAgentsInProcess, type InProcessAgents } from "../helpers/agents";
import {
  MQTT_URL,
  TEST_IMAGE,
  containersOfNode,
  docker,
  freePort,
  requireDocker,
  requireMqtt,
  uniqueName,
  waitFor,
} from "../helpers/services";
import { PluginException } from "../nfvo-emulator";
import { startDriverHarness, type DriverHarness } from "../nfvo-emulator/harness";

const USERDATA = `#!/bin/sh\n#Hostname=\n${formatFogSpec({ command: ["sleep", "3600"] })}\n`;

describe("driver: placement and deployment through real agents", () => {
  const prefix = uniqueName("iotfog-test");
  let fleet: InProcessAgents | undefined;
  let h: DriverHarness;
  let lineOne: string;
  let lineTwo: string;

  beforeAll(async () => {
    await requireDocker();
    await requireMqtt();
    fleet = await startAgentsInProcess(
      ["line-1", "line-2"].map((zone) => ({
        labels: { zone },
        mqtt: { url: MQTT_URL, topicPrefix: prefix, keepaliveSeconds: 1 },
      })),
    );
    [lineOne, lineTwo] = fleet.nodeIds as [string, string];
    h = await startDriverHarness({ topicPrefix: prefix, driver: { launchTimeoutMs: 60000 } });
    await h.emulator.registerVim(h.vim);
    await h.waitForNodes(2);
  });

  afterAll(async () => {
    // Also when a test stopped before its own deleteNetwork (idempotent).
    await h?.emulator.call(h.vim, "deleteNetwork", ["iotfog-cell-lan"], "Boolean").catch(() => undefined);
    await h?.close();
    await fleet?.stop();
  });

  it("refresh lists the images of the live nodes (stable extId, tags) and getQuota their real capacity", async () => {
    const vim = await h.emulator.refresh(h.vim.name);
    const testbox = (vim.images ?? []).find((i) => (i.tags ?? []).includes(TEST_IMAGE));
    const inspected = await docker().getImage(TEST_IMAGE).inspect();
    expect(testbox?.extId).toBe(inspected.Id);
    const quota = (await h.emulator.call(h.vim, "getQuota", [], "Quota")) as Record<string, number>;
    expect(quota.cores).toBeGreaterThan(0);
    expect(quota.ram).toBeGreaterThan(0);
    expect(quota.instances).toBe(100);
  });

  it("createNetwork answers a DockerNetwork with subnet and a stable extId, reused by name", async () => {
    const first = (await h.emulator.call(h.vim, "createNetwork", [{ name: "cell-lan" }], "BaseNetwork")) as {
      kind: string;
      network: Record<string, string>;
    };
    expect(first.kind).toBe("DockerNetwork");
    expect(first.network.subnet).toMatch(/^\d+\.\d+\.\d+\.\d+\/\d+$/);
    const again = (await h.emulator.call(h.vim, "createNetwork", [{ name: "cell-lan" }], "BaseNetwork")) as {
      network: Record<string, string>;
    };
    expect(again.network.extId).toBe(first.network.extId);
    const vim = await h.emulator.refresh(h.vim.name);
    expect(vim.networks).toContainEqual(
      expect.objectContaining({ name: "cell-lan", extId: first.network.extId }),
    );
  });

  it("launchInstanceAndWait lands on the only node that satisfies the constraints, and listServer shows it", async () => {
    const vnfc = await h.emulator.allocate(h.vim.name, {
      vnfrName: "gateway",
      vmImage: TEST_IMAGE,
      connectionPoints: [
        {
          virtual_link_reference: "cell-lan",
          metadata: { "iotfog.constraints": "node.labels.zone==line-2" },
        },
      ],
      userdata: USERDATA,
    });
    const server = vnfc.server;
    expect(server.hypervisorHostName).toBe(lineTwo);
    expect(server.status).toBe("ACTIVE");
    expect(server.hostName).toBe(vnfc.hostname);
    expect(vnfc.hostname).toMatch(/^gateway-\d+$/);
    expect(server.floatingIps).toEqual({});
    expect(vnfc.ips).toEqual([{ netName: "cell-lan", ip: "127.0.0.1" }]);
    const onNode = await containersOfNode(lineTwo);
    expect(onNode.filter((c) => c.State === "running")).toHaveLength(1);
    expect(await containersOfNode(lineOne)).toHaveLength(0);
    // Inside, the container is called what the NFVO calls the VNFC, and answers to it on its virtual link.
    const inspected = await docker().getContainer(onNode[0]!.Id).inspect();
    expect(inspected.Config.Hostname).toBe(vnfc.hostname);
    expect(Object.values(inspected.NetworkSettings.Networks).flatMap((n) => n.Aliases ?? [])).toContain(
      vnfc.hostname,
    );
    const servers = (await h.emulator.call(h.vim, "listServer", [], "List<Server>")) as Array<
      Record<string, unknown>
    >;
    expect(servers).toContainEqual(
      expect.objectContaining({
        extId: vnfc.vc_id,
        hostName: vnfc.hostname,
        status: "ACTIVE",
        hypervisorHostName: lineTwo,
      }),
    );

    // Delete is fire-and-forget for the NFVO; the container goes away, and a second delete is harmless.
    await h.emulator.release(h.vim.name, vnfc.vc_id);
    await waitFor(async () => (await containersOfNode(lineTwo)).length === 0, {
      timeoutMs: 20000,
      what: "container removed",
    });
    await h.emulator.release(h.vim.name, vnfc.vc_id);
    expect(await h.emulator.call(h.vim, "listServer", [], "List<Server>")).toEqual([]);
  });

  it("unsatisfiable constraints: the engine's explanation comes back as the exception's detailMessage", async () => {
    let error: unknown;
    try {
      await h.emulator.allocate(h.vim.name, {
        vnfrName: "nowhere",
        vmImage: TEST_IMAGE,
        connectionPoints: [{ virtual_link_reference: "cell-lan" }],
        userdata: `#Hostname=\n${formatFogSpec({ command: ["sleep", "3600"], constraints: ["node.labels.zone==line-9"] })}\n`,
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(PluginException);
    const detail = (error as PluginException).vimDriverException?.detailMessage ?? "";
    expect(detail).toMatch(/no node satisfies/);
    expect(detail).toMatch(/zone/);
    expect(detail).toMatch(/line-9/);
  });

  it("the fog spec's hostname, DNS servers and per-link aliases reach the container; an alias on a foreign link is refused", async () => {
    const vnfc = await h.emulator.allocate(h.vim.name, {
      vnfrName: "named",
      vmImage: TEST_IMAGE,
      connectionPoints: [{ virtual_link_reference: "cell-lan" }],
      userdata: `#Hostname=\n${formatFogSpec({
        command: ["sleep", "3600"],
        hostname: "gateway-7",
        dns: ["10.213.0.53"],
        aliases: { "cell-lan": ["gw", "gw.cell"] },
      })}\n`,
    });
    const [nodeId, agentId] = vnfc.vc_id.split(":") as [string, string];
    const [container] = await docker().listContainers({
      filters: { label: [`org.openiotfog.node=${nodeId}`, `org.openiotfog.deployment=${agentId}`] },
    });
    const inspected = await docker().getContainer(container!.Id).inspect();
    expect(inspected.Config.Hostname).toBe("gateway-7");
    expect(inspected.HostConfig.Dns).toEqual(["10.213.0.53"]);
    const [network] = Object.values(inspected.NetworkSettings.Networks);
    expect(network?.Aliases).toEqual(expect.arrayContaining([vnfc.hostname, "gw", "gw.cell"]));
    await h.emulator.release(h.vim.name, vnfc.vc_id);

    let error: unknown;
    try {
      await h.emulator.allocate(h.vim.name, {
        vnfrName: "misnamed",
        vmImage: TEST_IMAGE,
        connectionPoints: [{ virtual_link_reference: "cell-lan" }],
        userdata: `#Hostname=\n${formatFogSpec({ command: ["sleep", "3600"], aliases: { "wifi-lan": ["gw"] } })}\n`,
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(PluginException);
    expect((error as PluginException).vimDriverException?.detailMessage).toMatch(
      /field "aliases\.wifi-lan": "wifi-lan" is not a virtual link of misnamed-\d+ \(its links: cell-lan\)/,
    );
    await waitFor(async () => (await containersOfNode(nodeId)).length === 0, {
      timeoutMs: 20000,
      what: "named VNFC removed",
    });
  });

  it("a VNFC whose container cannot start: exception.server names it (ERROR), and it is removed", async () => {
    let error: unknown;
    try {
      await h.emulator.allocate(h.vim.name, {
        vnfrName: "broken",
        vmImage: TEST_IMAGE,
        connectionPoints: [
          {
            virtual_link_reference: "cell-lan",
            metadata: { "iotfog.constraints": "node.labels.zone==line-1" },
          },
        ],
        // Created, then refused at start by the runtime (no such executable): a partly created container.
        userdata: `#Hostname=\n${formatFogSpec({ command: ["/no/such/binary"], restart: "no" })}\n`,
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(PluginException);
    const exception = (error as PluginException).vimDriverException;
    expect(exception?.detailMessage).toMatch(new RegExp(`launch of broken-\\d+ on ${lineOne} failed`));
    expect(exception?.server).toEqual(
      expect.objectContaining({
        status: "ERROR",
        hypervisorHostName: lineOne,
        hostName: expect.stringMatching(/^broken-\d+$/),
        extId: expect.stringMatching(new RegExp(`^${lineOne}:ob-`)),
      }),
    );
    await waitFor(async () => (await containersOfNode(lineOne)).length === 0, {
      timeoutMs: 20000,
      what: "the partly created container removed",
    });
    expect(await h.emulator.call(h.vim, "listServer", [], "List<Server>")).toEqual([]);
  });

  it("Server.ips: the node's address and the published port reach the VNFC, as from another fog node", async () => {
    const port = await freePort();
    const vnfc = await h.emulator.allocate(h.vim.name, {
      vnfrName: "web",
      vmImage: TEST_IMAGE,
      connectionPoints: [{ virtual_link_reference: "cell-lan" }],
      userdata: `#Hostname=\n${formatFogSpec({ command: ["httpd", "-f", "-p", "8080"], ports: [{ container: 8080, host: port }] })}\n`,
    });
    // Test agents advertise their endpoint on loopback, so the node address is 127.0.0.1 here.
    const address = vnfc.ips[0]?.ip;
    expect(address).toBe("127.0.0.1");
    const status = await waitFor(
      () =>
        fetch(`http://${address}:${port}/`).then(
          (r) => r.status,
          () => undefined,
        ),
      { timeoutMs: 10000, what: `HTTP answer on ${address}:${port}` },
    );
    // busybox httpd answers (its working directory has no index: 404 is an answer from the VNFC).
    expect([200, 403, 404]).toContain(status);
    await h.emulator.release(h.vim.name, vnfc.vc_id);
    await waitFor(
      async () =>
        ((await h.emulator.call(h.vim, "listServer", [], "List<Server>")) as unknown[]).length === 0,
      {
        timeoutMs: 20000,
        what: "web VNFC removed",
      },
    );
  });

  it("serves 8 concurrent launches, each a running container with a unique extId", async () => {
    const launches = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        h.emulator.allocate(h.vim.name, {
          vnfrName: `worker${i}`,
          vmImage: TEST_IMAGE,
          connectionPoints: [{ virtual_link_reference: "cell-lan" }],
          userdata: USERDATA,
        }),
      ),
    );
    expect(new Set(launches.map((l) => l.vc_id)).size).toBe(8);
    expect(launches.every((l) => l.state === "ACTIVE")).toBe(true);
    const all = [...(await containersOfNode(lineOne)), ...(await containersOfNode(lineTwo))];
    expect(all.filter((c) => c.State === "running")).toHaveLength(8);
    await Promise.all(launches.map((l) => h.emulator.release(h.vim.name, l.vc_id)));
    await waitFor(
      async () => (await containersOfNode(lineOne)).length + (await containersOfNode(lineTwo)).length === 0,
      { timeoutMs: 30000, what: "all containers removed" },
    );
    expect(await h.emulator.call(h.vim, "deleteNetwork", ["iotfog-cell-lan"], "Boolean")).toBe(true);
  });
});
