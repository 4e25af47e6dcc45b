/**
 * The host-safety policy end to end (issue 12, item 4): the "host-root" deploy (the host's `/` mounted at
 * /host, the host network) is refused with the rule named from every entry point, and no container is created:
 * a raw ZeroMQ deploy to the agent, the fleet REST API, an Open Baton launch (fog spec in userdata) and VNFD keys
 * through the fog VNFM; the NFVO emulator, RabbitMQ, Mosquitto and Docker are the real ones. Also: a device a
 * hardware event reports at a path discovery never found is not mapped, and a host-root deployment in the saved
 * state does not come back when the agent restarts under the default policy.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { AgentClient, type ServiceSpecInput } from "@openiotfog/shared";
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
import type { DriverHarness } from "../nfvo-emulator/harness";
import type { NfvoWithVnfms } from "../nfvo-emulator/vnfm/nfvo-vnfm";
import { loadNsd, startVnfmHarness } from "../nfvo-emulator/vnfm/nsd-harness";
import { listenerPublishes } from "./agent-events-harness";
import { DiscoveryWatcher, REPO, passthroughTree, startInProcess, testAgentSetup } from "./agent-helpers";

type Json = Record<string, unknown>;

const HOST_ROOT: ServiceSpecInput = {
  name: "host-root",
  image: TEST_IMAGE,
  command: ["sh", "-c", "cat /host/etc/shadow; sleep 3600"],
  volumes: [{ source: "/", target: "/host" }],
  networks: ["host"],
};
const BIND_MOUNT_NAMED =
  /spec\.volumes\[0\]\.source: bind mount of host path "\/" is refused.*\(host-safety rule bind-mount\)/;

describe("host-safety policy: the host-root deploy is refused from every entry point", () => {
  const prefix = uniqueName("iotfog-policy");
  const vnfmType = uniqueName("fog");
  const token = "policy-test-token-0123456789";
  let tree: string;
  let fleet: InProcessAgents | undefined;
  let nodeId: string;
  let client: AgentClient;
  let h: DriverHarness;
  let nfvo: NfvoWithVnfms;
  let apiUrl: string;

  beforeAll(async () => {
    await requireDocker();
    await requireMqtt();
    tree = mkdtempSync(path.join(os.tmpdir(), "iotfog-policy-tree-"));
    // One node with the default (least-privilege) policy and a discovered ZigBee stick at /dev/null.
    fleet = await startAgentsInProcess([
      {
        labels: { zone: "line-1" },
        discovery: { ...passthroughTree(tree), refreshIntervalMs: 1000, deviceScanIntervalMs: 500 },
        mqtt: { url: MQTT_URL, topicPrefix: prefix, keepaliveSeconds: 1 },
        runtime: { pullMissingImages: false },
        hardware: { bind: "tcp://127.0.0.1:*", udev: false },
      },
    ]);
    nodeId = fleet.nodeIds[0]!;
    client = new AgentClient({
      endpoint: fleet.agents[0]!.endpoint.advertise,
      timeoutMs: 20000,
      retries: 0,
      curve: fleet.setups[0]!.curve,
    });
    const port = await freePort();
    apiUrl = `http://127.0.0.1:${port}`;
    ({ h, nfvo } = await startVnfmHarness({
      vnfmType,
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
    }));
    await nfvo.registerVim(h.vim);
    await h.waitForNodes(1);
  });

  afterAll(async () => {
    await client?.close();
    await h?.close();
    await fleet?.stop();
    if (tree) rmSync(tree, { recursive: true, force: true });
  });

  afterEach(async () => {
    // Whatever the entry point, nothing reached Docker.
    expect(await containersOfNode(nodeId)).toEqual([]);
  });

  it("a raw ZeroMQ deploy: POLICY_REFUSED naming both fields and rules, nothing recorded", async () => {
    const refused = client.call("deploy", { deploymentId: uniqueName("root"), spec: HOST_ROOT });
    await expect(refused).rejects.toMatchObject({ code: "POLICY_REFUSED" });
    const err = (await refused.catch((e: unknown) => e)) as Error & { details?: Json };
    expect(err.message).toMatch(new RegExp(`^node ${nodeId} refuses host-root by its host-safety policy: `));
    expect(err.message).toMatch(BIND_MOUNT_NAMED);
    expect(err.message).toMatch(
      /spec\.networks\[0\]: the host network is refused.*\(host-safety rule host-network\)/,
    );
    expect((await client.call("list", {})).deployments).toEqual([]);
  });

  it("the fleet API: the placement explanation names the field and the rule", async () => {
    const res = await fetch(`${apiUrl}/api/v1/deployments`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "host-root", services: [HOST_ROOT] }),
    });
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(res.status).toBe(422);
    expect(body.error.code).toBe("PLACEMENT_FAILED");
    expect(body.error.message).toContain(
      `host policy allows spec.volumes[0].source (rule bind-mount): refused by ${nodeId}`,
    );
    expect(body.error.message).toMatch(BIND_MOUNT_NAMED);
    expect(body.error.message).toContain(
      `host policy allows spec.networks[0] (rule host-network): refused by ${nodeId}`,
    );
  });

  it("the CLI: `iotfog deploy` of a host-root blueprint prints the explanation and fails", async () => {
    const file = path.join(tree, "host-root.yaml");
    writeFileSync(
      file,
      [
        "tosca_definitions_version: openiotfog_blueprint_1_0",
        "metadata: { name: host-root }",
        "topology_template:",
        "  node_templates:",
        "    host-root:",
        "      type: openiotfog.nodes.Container",
        "      properties:",
        `        image: ${TEST_IMAGE}`,
        '        volumes: ["/:/host"]',
        "        networks: [host]",
      ].join("\n"),
    );
    // Asynchronous: the fleet API it talks to runs in this process.
    const run = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        [path.join(REPO, "cli/bin/iotfog.js"), "deploy", file, "--api-url", apiUrl, "--token", token],
        { env: { ...process.env, IOTFOG_LOG_SILENT: "1" }, timeout: 60000 },
        (e, _stdout, stderr) => resolve({ code: e === null ? 0 : (e.code as number | null), stderr }),
      );
    });
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain("host policy allows spec.volumes[0].source (rule bind-mount)");
    expect(run.stderr).toContain("host policy allows spec.networks[0] (rule host-network)");
    expect(run.stderr).toMatch(BIND_MOUNT_NAMED);
  });

  it("an Open Baton launch: the exception's detailMessage names the field and the rule", async () => {
    let error: unknown;
    try {
      await h.emulator.allocate(h.vim.name, {
        vnfrName: "hostroot",
        vmImage: TEST_IMAGE,
        connectionPoints: [{ virtual_link_reference: "cell-lan" }],
        userdata: `#Hostname=\n${formatFogSpec({ command: ["sleep", "3600"], volumes: [{ source: "/", target: "/host" }] })}\n`,
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(PluginException);
    const detail = (error as PluginException).vimDriverException?.detailMessage ?? "";
    expect(detail).toContain("host policy allows spec.volumes[0].source (rule bind-mount)");
    expect(detail).toMatch(BIND_MOUNT_NAMED);
  });

  it("VNFD keys through the fog VNFM: the NFVO gets an ERROR naming the field and the rule", async () => {
    const nsd = loadNsd("nsd-zigbee-line2.json", vnfmType);
    const vnfd = (nsd.vnfd as Json[])[0]!;
    (vnfd.configurations as Json).configurationParameters = [
      { confKey: "cmd", value: '["sleep", "3600"]' },
      { confKey: "volumes", value: "/:/host" },
    ];
    const nsr = await nfvo.deployNsr(nsd, h.vim.name);
    expect(nsr.status).toBe("ERROR");
    expect(nsr.errors).toHaveLength(1);
    expect(nsr.errors[0]).toContain("host policy allows spec.volumes[0].source (rule bind-mount)");
    expect(nsr.errors[0]).toMatch(BIND_MOUNT_NAMED);
  });

  it("a hardware event cannot make the agent map a device discovery did not find (/dev/sda)", async () => {
    const agent = fleet!.agents[0]!;
    await listenerPublishes(agent.ops.endpoints().hardwareEvents!, "attached", {
      class: "zigbee",
      serial: "not-a-stick",
      path: "/dev/sda",
    });
    // The node now advertises it (listeners may report what discovery does not see); mapping it is another matter.
    const forged = await waitFor(
      () => agent.capabilities.current().devices.find((d) => d.path === "/dev/sda"),
      { what: "the reported device in the capabilities" },
    );
    const refused = client.call("deploy", {
      deploymentId: uniqueName("sda"),
      spec: { name: "reader", image: TEST_IMAGE, command: ["sleep", "3600"], devices: [{ class: "zigbee" }] },
      devices: [
        {
          requirement: 0,
          device: forged,
          hostPath: "/dev/sda",
          containerPath: "/dev/ttyACM0",
          exclusive: true,
        },
      ],
    });
    await expect(refused).rejects.toMatchObject({
      code: "POLICY_REFUSED",
      message: expect.stringMatching(
        /devices\[0\]\.hostPath: device path "\/dev\/sda" was not found by this node's device discovery.*\(host-safety rule undiscovered-device\)/,
      ),
    });
  });

  it("a stick that comes back at a path discovery did not find is not re-mapped: the container keeps its device", async () => {
    const agent = fleet!.agents[0]!;
    const hw = agent.ops.endpoints().hardwareEvents!;
    const deployed = await client.call("deploy", {
      deploymentId: uniqueName("zb"),
      spec: {
        name: "zigbee-gw",
        image: TEST_IMAGE,
        command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"],
        devices: [{ class: "zigbee", serial: "passthrough01", containerPath: "/dev/ttyACM0" }],
      },
    });
    const { deploymentId } = deployed.deployment;
    expect(deployed.deployment.devices).toEqual([expect.objectContaining({ hostPath: "/dev/null" })]);
    const stickId = deployed.deployment.devices[0]!.deviceId;
    try {
      await listenerPublishes(hw, "detached", { class: "zigbee", serial: "passthrough01" });
      await waitFor(() => !agent.capabilities.current().devices.some((d) => d.id === stickId), {
        what: "the stick gone from the capabilities",
      });
      // A listener says the same stick is back, as /dev/sda.
      await listenerPublishes(hw, "attached", { class: "zigbee", serial: "passthrough01", path: "/dev/sda" });
      const refusal = await waitFor(
        () => agent.ops.bus.history({ types: ["policy.refused"], deploymentId })[0],
        { what: "policy.refused for the restore" },
      );
      expect(refusal.message).toMatch(
        /device path "\/dev\/sda" was not found by this node's device discovery/,
      );
      const [container] = await containersOfNode(nodeId);
      expect(container?.Id).toBe(deployed.deployment.containerId);
      const inspected = await docker().getContainer(container!.Id).inspect();
      expect((inspected.HostConfig.Devices ?? []).map((d: { PathOnHost: string }) => d.PathOnHost)).toEqual([
        "/dev/null",
      ]);
    } finally {
      await client.call("remove", { deploymentId, timeoutSeconds: 0 });
    }
  });
});

describe("host-safety policy: the saved state", () => {
  it("a host-root deployment saved under a wide policy is not re-created under the default one, and its container goes", async () => {
    await requireDocker();
    await requireMqtt();
    const setup = await testAgentSetup({
      runtime: { pullMissingImages: false },
      hardware: { bind: "tcp://127.0.0.1:*", udev: false },
      // What an operator (or an attacker who once had this) allowed: the host's root and network.
      hostPolicy: { allowBindMounts: ["/"], allowHostNetwork: true },
    });
    try {
      const wide = await startInProcess(setup.config);
      const client = new AgentClient({
        endpoint: setup.endpoint,
        timeoutMs: 20000,
        retries: 0,
        curve: setup.curve,
      });
      const deploymentId = uniqueName("root");
      try {
        const deployed = await client.call("deploy", { deploymentId, spec: HOST_ROOT });
        expect(deployed.deployment.state).toBe("running");
      } finally {
        await client.close();
        await wide.lifecycle.stop();
      }
      // The container outlives the agent (restart policy unless-stopped would also bring it back after a reboot).
      expect(await containersOfNode(setup.nodeId)).toHaveLength(1);

      const watcher = await DiscoveryWatcher.start(setup.prefix);
      const narrowed = await startInProcess({
        ...setup.config,
        hostPolicy: { ...setup.config.hostPolicy, allowBindMounts: [], allowHostNetwork: false },
      });
      const after = new AgentClient({
        endpoint: setup.endpoint,
        timeoutMs: 20000,
        retries: 0,
        curve: setup.curve,
      });
      try {
        expect((await after.call("list", {})).deployments).toEqual([]);
        expect(await containersOfNode(setup.nodeId)).toEqual([]);
        // Reported, not only logged: the start-up refusal reaches the events topic once MQTT is up.
        const report = await watcher.waitFor(
          "events",
          (m) => m.payload.type === "deployment.failed" && m.payload.data.deploymentId === deploymentId,
          { what: "deployment.failed for the refused saved deployment" },
        );
        expect(String(report.payload.data.error)).toMatch(BIND_MOUNT_NAMED);
        expect(report.payload.data.violations).toEqual([
          { field: "spec.volumes[0].source", rule: "bind-mount" },
          { field: "spec.networks[0]", rule: "host-network" },
        ]);
      } finally {
        await watcher.stop();
        await after.close();
        await narrowed.lifecycle.stop();
      }
    } finally {
      await setup.cleanup();
    }
  });
});
