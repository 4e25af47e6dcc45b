/**
 * The fog VNFM end to end: the NFVO emulator plays both NFVO sides (VNFM: INSTANTIATE, GRANT_OPERATION,
 * ALLOCATE_RESOURCES, MODIFY, START, RELEASE_RESOURCES; plugin: launchInstanceAndWait / deleteServerByIdAndWait
 * as GenericVIM does) over a real RabbitMQ (temporary vhost), against the real driver process parts (buildDriver
 * with `vnfm.enabled`), two real agents and the real Docker engine. NSDs come from openbaton-config/.
 *
 * Nodes: line 1 and line 2, both with a ZigBee stick (the agents' passthrough tree: a Sonoff stick whose tty is
 * /dev/null, so the device really goes into the container). Only line 2 has both the stick and the label.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Agent } from "@openiotfog/edge-agent";
import { startAgentsInProcess, type InProcessAgents } from "../helpers/agents";
import {
  MQTT_URL,
  containersOfNode,
  docker,
  execInContainer,
  requireDocker,
  requireMqtt,
  uniqueName,
  waitFor,
} from "../helpers/services";
import type { DriverHarness } from "../nfvo-emulator/harness";
import { ensureTutorialImages } from "../nfvo-emulator/vnfm/images";
import type { NfvoWithVnfms, NsrRecord } from "../nfvo-emulator/vnfm/nfvo-vnfm";
import { instances, loadNsd, startNsdHarness } from "../nfvo-emulator/vnfm/nsd-harness";
import { passthroughTree } from "./agent-helpers";

type Json = Record<string, unknown>;

/** The container behind a VNFC (`vc_id` = `<node>:<deployment>`), by the labels every container carries. */
async function containerOf(vcId: string): Promise<{ id: string; node: string } | undefined> {
  const [node = "", deployment = ""] = [vcId.slice(0, vcId.indexOf(":")), vcId.slice(vcId.indexOf(":") + 1)];
  const list = await docker().listContainers({
    all: true,
    filters: { label: [`org.openiotfog.node=${node}`, `org.openiotfog.deployment=${deployment}`] },
  });
  const first = list[0];
  return first === undefined ? undefined : { id: first.Id, node };
}

/** The fog networks the driver created on a test node (the NFVO keeps them unless networks are dedicated). */
async function removeNetworksOf(nodeId: string): Promise<void> {
  const nets = await docker().listNetworks({ filters: { label: [`org.openiotfog.node=${nodeId}`] } });
  await Promise.all(
    nets.map((n) =>
      docker()
        .getNetwork(n.Id)
        .remove()
        .catch(() => undefined),
    ),
  );
}

describe("fog VNFM: Open Baton NSDs through the NFVO emulator, the driver and two real agents", () => {
  const prefix = uniqueName("iotfog-vnfm");
  // RabbitMQ users are broker-wide and the VNFM's user is its type: unique per run.
  const vnfmType = uniqueName("fog");
  let fleet: InProcessAgents | undefined;
  let tree: string;
  let h: DriverHarness;
  let nfvo: NfvoWithVnfms;
  let lineOne: string;
  let lineTwo: string;

  beforeAll(async () => {
    await requireDocker();
    await requireMqtt();
    await ensureTutorialImages();
    tree = mkdtempSync(path.join(os.tmpdir(), "iotfog-vnfm-tree-"));
    fleet = await startAgentsInProcess(
      ["1", "2"].map((line) => ({
        labels: { line },
        // One tree per node, so a device can be detached from one node only.
        discovery: {
          ...passthroughTree(path.join(tree, `line-${line}`)),
          refreshIntervalMs: 1000,
          deviceScanIntervalMs: 500,
        },
        mqtt: { url: MQTT_URL, topicPrefix: prefix, keepaliveSeconds: 1 },
        runtime: { pullMissingImages: false },
      })),
    );
    [lineOne, lineTwo] = fleet.nodeIds as [string, string];
    ({ h, nfvo } = await startNsdHarness({
      topicPrefix: prefix,
      vnfmType,
      nodes: 2,
      launchTimeoutMs: 60000,
    }));
  });

  /** The first asynchronous ERROR (on vnfm.nfvo.actions) whose exception mentions `text`. */
  const oneWayError = (text: string, about: string): Promise<Json> =>
    waitFor(
      () =>
        nfvo.oneWay.find(
          (m) =>
            m.action === "ERROR" && String((m.exception as Json | undefined)?.detailMessage).includes(text),
        ),
      { timeoutMs: 20000, what: `ERROR about ${about} on vnfm.nfvo.actions` },
    );

  afterAll(async () => {
    await h?.close();
    await fleet?.stop();
    for (const nodeId of fleet?.nodeIds ?? []) await removeNetworksOf(nodeId);
    if (tree) rmSync(tree, { recursive: true, force: true });
  });

  it("registered as a VNFM: endpoint type and queue, RABBIT, with the NFVO's permissions for its endpoint", () => {
    expect(nfvo.endpoints.get(vnfmType)).toEqual(
      expect.objectContaining({ type: vnfmType, endpoint: vnfmType, endpointType: "RABBIT", enabled: true }),
    );
    expect(nfvo.credentials.has(vnfmType)).toBe(true);
  });

  it("the Docker tutorial NSD reaches ACTIVE, the client's environment holds the server's hostname, release removes everything", async () => {
    const nsr: NsrRecord = await nfvo.deployNsr(loadNsd("nsd-iperf.json", vnfmType), h.vim.name);
    expect(nsr.errors).toEqual([]);
    expect(nsr.status).toBe("ACTIVE");
    const server = nsr.vnfrs.get("iperf-server");
    const client = nsr.vnfrs.get("iperf-client");
    for (const vnfr of [server, client]) {
      expect(vnfr?.status).toBe("ACTIVE");
      expect(instances(vnfr)).toHaveLength(1);
      expect(instances(vnfr)[0]).toMatchObject({ state: "ACTIVE" });
    }
    // What the VNFM sent: ALLOCATE_RESOURCES with a string userdata and keyPairs (the emulator refuses otherwise).
    const allocations = nfvo.traffic.filter(
      (t) => t.direction === "from-vnfm" && t.action === "ALLOCATE_RESOURCES",
    );
    expect(allocations).toHaveLength(2);
    for (const a of allocations) {
      expect(typeof a.body.userdata).toBe("string");
      expect(a.body.keyPairs).toEqual([]);
    }
    const serverHost = String(instances(server)[0]?.hostname);
    expect(serverHost).toMatch(/^iperf-server-\d+$/);
    const clientVc = String(instances(client)[0]?.vc_id);
    const clientContainer = await containerOf(clientVc);
    expect(clientContainer).toBeDefined();
    const inspected = await docker().getContainer(String(clientContainer?.id)).inspect();
    expect(inspected.State.Running).toBe(true);
    expect(inspected.Config.Env).toContain(`SERVER_HOSTNAME=${serverHost}`);
    expect(inspected.Config.Image).toBe("iperfclient:latest");
    const serverContainer = await containerOf(String(instances(server)[0]?.vc_id));
    expect(serverContainer).toBeDefined();

    await nfvo.releaseNsr(nsr);
    // deleteServerByIdAndWait is fire-and-forget for the NFVO: wait for the containers to go.
    await waitFor(
      async () => (await containersOfNode(lineOne)).length + (await containersOfNode(lineTwo)).length === 0,
      { timeoutMs: 20000, what: "no container left on either node" },
    );
  });

  it("the Docker VNFM keys hostname, dns and aliases reach the container; an alias on a link the VDU lacks is refused", async () => {
    const nsd = loadNsd("nsd-iperf.json", vnfmType);
    const server = (nsd.vnfd as Json[]).find((v) => v.name === "iperf-server") as Json;
    server.configurations = {
      name: "server-configuration",
      configurationParameters: [
        { confKey: "hostname", value: "iperf-srv" },
        { confKey: "dns", value: "10.213.0.53" },
        { confKey: "aliases", value: "new-network:iperf,iperf.lab" },
      ],
    };
    const nsr = await nfvo.deployNsr(nsd, h.vim.name);
    expect(nsr.errors).toEqual([]);
    expect(nsr.status).toBe("ACTIVE");
    const vnfc = instances(nsr.vnfrs.get("iperf-server"))[0] as Json;
    const found = await containerOf(String(vnfc.vc_id));
    const container = docker().getContainer(String(found?.id));
    const inspected = await container.inspect();
    expect(inspected.Config.Hostname).toBe("iperf-srv");
    expect(inspected.HostConfig.Dns).toEqual(["10.213.0.53"]);
    const [network] = Object.values(inspected.NetworkSettings.Networks);
    expect(network?.Aliases).toEqual(expect.arrayContaining([String(vnfc.hostname), "iperf", "iperf.lab"]));
    expect(await execInContainer(container, ["hostname"])).toEqual({ exitCode: 0, stdout: "iperf-srv\n" });
    await nfvo.releaseNsr(nsr);
    await waitFor(
      async () => (await containersOfNode(lineOne)).length + (await containersOfNode(lineTwo)).length === 0,
      { timeoutMs: 20000, what: "no container left on either node" },
    );

    const wrong = loadNsd("nsd-iperf.json", vnfmType);
    ((wrong.vnfd as Json[]).find((v) => v.name === "iperf-server") as Json).configurations = {
      name: "server-configuration",
      configurationParameters: [{ confKey: "aliases", value: "mgmt:iperf" }],
    };
    const refused = await nfvo.deployNsr(wrong, h.vim.name);
    expect(refused.status).toBe("ERROR");
    expect(refused.errors[0]).toContain('key "aliases": network "mgmt" is not a virtual link of VDU');
    expect(refused.errors[0]).toContain("(its links: new-network)");
  });

  it("scales the iperf client out by one VNFC through the driver's placement, with the server's hostname, stops and starts it, and scales in again", async () => {
    const nsr = await nfvo.deployNsr(loadNsd("nsd-iperf.json", vnfmType), h.vim.name);
    expect(nsr.status).toBe("ACTIVE");
    const serverHost = String(instances(nsr.vnfrs.get("iperf-server"))[0]?.hostname);
    const first = String(instances(nsr.vnfrs.get("iperf-client"))[0]?.vc_id);

    const reply = await nfvo.scaleOut(nsr, "iperf-client");
    expect(reply).toMatchObject({ action: "SCALED" });
    expect(nsr.status).toBe("ACTIVE");
    const clients = instances(nsr.vnfrs.get("iperf-client"));
    expect(clients).toHaveLength(2);
    const added = clients.find((i) => i.vc_id !== first) as Json;
    expect(added).toMatchObject({ state: "ACTIVE", hostname: expect.stringMatching(/^iperf-client-\d+$/) });
    // The VNFM asked the NFVO back with SCALING and a userdata string; the NFVO launched through the driver.
    const scaling = nfvo.traffic.find((t) => t.direction === "from-vnfm" && t.action === "SCALING");
    expect(typeof scaling?.body.userData).toBe("string");
    const found = await containerOf(String(added.vc_id));
    const inspected = await docker().getContainer(String(found?.id)).inspect();
    expect(inspected.State.Running).toBe(true);
    expect(inspected.Config.Env).toContain(`SERVER_HOSTNAME=${serverHost}`);
    expect(inspected.Config.Hostname).toBe(String(added.hostname));

    // One VNFC stopped and started again: its container stops and runs again; the record says so.
    const stopped = await nfvo.startStopVnfc(nsr, "iperf-client", "STOP", String(added.vc_id));
    expect(stopped).toMatchObject({ action: "STOP" });
    expect(instances(nsr.vnfrs.get("iperf-client")).find((i) => i.vc_id === added.vc_id)?.state).toBe(
      "INACTIVE",
    );
    expect((await docker().getContainer(String(found?.id)).inspect()).State.Running).toBe(false);
    expect(
      (
        await docker()
          .getContainer(String((await containerOf(first))?.id))
          .inspect()
      ).State.Running,
    ).toBe(true);
    expect(await nfvo.startStopVnfc(nsr, "iperf-client", "START", String(added.vc_id))).toMatchObject({
      action: "START",
    });
    expect(instances(nsr.vnfrs.get("iperf-client")).find((i) => i.vc_id === added.vc_id)?.state).toBe(
      "ACTIVE",
    );
    expect((await docker().getContainer(String(found?.id)).inspect()).State.Running).toBe(true);

    await nfvo.scaleIn(nsr, "iperf-client", String(added.vc_id));
    await waitFor(async () => (await containerOf(String(added.vc_id))) === undefined, {
      timeoutMs: 20000,
      what: "the scaled-in VNFC's container removed",
    });
    expect(instances(nsr.vnfrs.get("iperf-client")).map((i) => i.vc_id)).toEqual([first]);
    expect(await containerOf(first)).toBeDefined();
    await expect(nfvo.scaleIn(nsr, "iperf-client", first)).rejects.toThrow(/last VNFC instance/);

    await nfvo.releaseNsr(nsr);
    await waitFor(
      async () => (await containersOfNode(lineOne)).length + (await containersOfNode(lineTwo)).length === 0,
      { timeoutMs: 20000, what: "no container left on either node" },
    );
  });

  it("an unknown fog key fails INSTANTIATE with an ERROR naming it, and nothing is created", async () => {
    const nsd = loadNsd("nsd-zigbee-line2.json", vnfmType);
    const vnfd = (nsd.vnfd as Json[])[0] as Json;
    const params = (vnfd.configurations as Json).configurationParameters as Json[];
    params.push({ confKey: "fog.device", value: "zigbee" });
    const nsr = await nfvo.deployNsr(nsd, h.vim.name);
    expect(nsr.status).toBe("ERROR");
    expect(nsr.errors[0]).toContain('configuration key "fog.device": unknown fog key');
    expect(
      nfvo.traffic.filter(
        (t) =>
          t.action === "GRANT_OPERATION" &&
          t.body.virtualNetworkFunctionRecord !== undefined &&
          (t.body.virtualNetworkFunctionRecord as Json).parent_ns_id === nsr.id,
      ),
    ).toHaveLength(0);
  });

  it("a ZigBee gateway that depends on another VNF is re-created with the dependency values and keeps its exclusive stick", async () => {
    // The gateway needs the iperf server's hostname: MODIFY brings it, and START re-creates the container on the
    // same node; the old container's lease on the exclusive stick must be gone before the new one asks for it.
    const nsd = loadNsd("nsd-zigbee-line2.json", vnfmType);
    const iperf = loadNsd("nsd-iperf.json", vnfmType);
    const server = (iperf.vnfd as Json[]).find((v) => v.name === "iperf-server") as Json;
    nsd.vnfd = [...(nsd.vnfd as Json[]), server];
    nsd.vld = [...(nsd.vld as Json[]), ...(iperf.vld as Json[])];
    ((nsd.vnfd as Json[])[0] as Json).requires = { "iperf-server": { parameters: ["hostname"] } };
    const nsr = await nfvo.deployNsr(nsd, h.vim.name);
    expect(nsr.errors).toEqual([]);
    expect(nsr.status).toBe("ACTIVE");
    const serverHost = String(instances(nsr.vnfrs.get("iperf-server"))[0]?.hostname);
    const gateway = instances(nsr.vnfrs.get("zigbee-gateway"))[0] as Json;
    expect(String(gateway.vc_id).startsWith(`${lineTwo}:`)).toBe(true);
    const onLineTwo = (await containersOfNode(lineTwo)).filter(
      (c) => c.Labels["org.openiotfog.openbaton.hostname"] === gateway.hostname,
    );
    expect(onLineTwo).toHaveLength(1);
    const inspected = await docker().getContainer(String(onLineTwo[0]?.Id)).inspect();
    expect(inspected.State.Running).toBe(true);
    expect(inspected.Config.Env).toEqual(
      expect.arrayContaining([`SERVER_HOSTNAME=${serverHost}`, "ZIGBEE_CHANNEL=15"]),
    );
    expect(inspected.HostConfig.Devices).toHaveLength(1);
    await nfvo.releaseNsr(nsr);
    await waitFor(
      async () => (await containersOfNode(lineOne)).length + (await containersOfNode(lineTwo)).length === 0,
      { timeoutMs: 20000, what: "no container left on either node" },
    );
  });

  it("the ZigBee / line 2 NSD lands on the only node with both; a detached stick is reported; then the NSD fails, explained", async () => {
    const nsr = await nfvo.deployNsr(loadNsd("nsd-zigbee-line2.json", vnfmType), h.vim.name);
    expect(nsr.errors).toEqual([]);
    expect(nsr.status).toBe("ACTIVE");
    const gateway = instances(nsr.vnfrs.get("zigbee-gateway"))[0] as Json;
    const vcId = String(gateway.vc_id);
    expect(vcId.startsWith(`${lineTwo}:`)).toBe(true);
    const container = await containerOf(vcId);
    const inspected = await docker().getContainer(String(container?.id)).inspect();
    expect(inspected.State.Running).toBe(true);
    expect(inspected.Config.Env).toContain("ZIGBEE_CHANNEL=15");
    expect(inspected.HostConfig.Devices).toEqual([
      expect.objectContaining({ PathInContainer: expect.any(String) as unknown }),
    ]);
    expect(inspected.HostConfig.Memory).toBe(32 * 1024 * 1024);

    // Fog event upstream: the stick is pulled out of line 2's node → an asynchronous ERROR for the VNF record.
    rmSync(path.join(tree, "line-2", "sys/class/tty/null"));
    rmSync(path.join(tree, "line-2", "sys/bus/usb/devices/1-1"));
    const error = await oneWayError("device detached under zigbee-gateway", "the detached device");
    expect(String((error.exception as Json).detailMessage)).toContain(lineTwo);
    expect((error.virtualNetworkFunctionRecord as Json).name).toBe("zigbee-gateway");
    expect(error.nsrId).toBe(nsr.id);
    await nfvo.releaseNsr(nsr);
    await waitFor(async () => (await containerOf(vcId)) === undefined, {
      timeoutMs: 20000,
      what: "gateway removed",
    });

    // The same NSD with no node that has both: the VNFM answers INSTANTIATE with an ERROR that explains why.
    const failed = await nfvo.deployNsr(loadNsd("nsd-zigbee-line2.json", vnfmType), h.vim.name);
    expect(failed.status).toBe("ERROR");
    expect(failed.errors).toHaveLength(1);
    const why = failed.errors[0] as string;
    expect(why).toContain("ALLOCATE_RESOURCES for zigbee-gateway failed");
    expect(why).toContain("no node satisfies");
    expect(why).toMatch(new RegExp(`node\\.labels\\.line == 2 \\(${lineOne} has 1\\)`));
    expect(why).toContain("device zigbee");
    for (const node of [lineOne, lineTwo]) expect(await containersOfNode(node)).toHaveLength(0);
  });

  it("a lost node under a running VNF is reported to the NFVO as an ERROR for that VNF record, also after a driver restart", async () => {
    const nsr = await nfvo.deployNsr(loadNsd("nsd-iperf.json", vnfmType), h.vim.name);
    expect(nsr.status).toBe("ACTIVE");
    // The VNFM's records survive the restart (its state file): it watches the same VNFCs afterwards.
    await h.restartDriver();
    await h.waitForNodes(2);
    const server = instances(nsr.vnfrs.get("iperf-server"))[0] as Json;
    const node = String(server.vc_id).slice(0, String(server.vc_id).indexOf(":"));
    const index = node === lineOne ? 0 : 1;
    await (fleet?.agents[index] as Agent).lifecycle.stop();
    const error = await oneWayError("fog node lost under iperf-server", "the lost node");
    expect(String((error.exception as Json).detailMessage)).toContain(node);
    expect(error.nsrId).toBe(nsr.id);
    // Release still answers; the containers on the stopped node are the test cleanup's (by node label).
    await nfvo.releaseNsr(nsr);
  });
});
