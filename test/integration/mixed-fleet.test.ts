/**
 * A mixed fleet: the x86_64 agent (in process, first Docker engine) and the arm64 agent (the real agent under
 * qemu-aarch64-static, test/helpers/arm64.ts, driving the second engine), with the driver's fleet API and the
 * NFVO emulator. The test images (scripts/images/testbox-arm64.sh): $TEST_IMAGE is linux/amd64 on both engines,
 * openiotfog/testbox:arm64 is linux/arm64 on both, openiotfog/testbox:multi is linux/amd64 on the first engine and
 * linux/arm64 on the second (as a registry's multi-arch image lands on a mixed fleet).
 *
 * What is checked where: placement and its explanation for all three images (fleet API explain); amd64 containers
 * really run (deploy through the fleet API); a launch only the wrong-architecture node could take is refused with
 * the explanation through the fleet API and through the Open Baton launch. What this machine cannot show: an arm64
 * container starting (its engines are x86_64 without binfmt_misc), so for the arm64-only image only the placement
 * and the explanation are checked, not a start.
 */
import { execFileSync, type ChildProcess } from "node:child_process";
import type Docker from "dockerode";
import type { ExplainResult } from "@openiotfog/vim-driver";
import { formatFogSpec } from "@openiotfog/vim-driver/openbaton/fog-spec";
import { PluginException } from "../nfvo-emulator";
import { requireArm64, spawnArm64Agent } from "../helpers/arm64";
import { startAgentsInProcess, type InProcessAgents } from "../helpers/agents";
import { stopProcess } from "../helpers/processes";
import {
  DOCKER_B_SOCKET,
  MQTT_URL,
  TEST_IMAGE,
  containersOfNode,
  freePort,
  removeContainersByLabel,
  requireDocker,
  requireMqtt,
  requireSecondDocker,
  uniqueName,
} from "../helpers/services";
import type { DriverHarness } from "../nfvo-emulator/harness";
import type { NfvoWithVnfms } from "../nfvo-emulator/vnfm/nfvo-vnfm";
import { loadNsd, startVnfmHarness } from "../nfvo-emulator/vnfm/nsd-harness";
import { REPO, testAgentSetup, type TestAgentSetup } from "./agent-helpers";

jest.setTimeout(240000);

const ARM64_IMAGE = "openiotfog/testbox:arm64";
const MULTI_IMAGE = "openiotfog/testbox:multi";

describe("a mixed fleet: x86_64 and arm64 agents, images placed by their platforms", () => {
  const prefix = uniqueName("iotfog-test");
  const token = `mixed-fleet-${uniqueName("t")}`;
  let engineA: Docker;
  let engineB: Docker;
  let x86: InProcessAgents | undefined;
  let piSetup: TestAgentSetup | undefined;
  let pi: ChildProcess | undefined;
  let h: DriverHarness | undefined;
  let nfvo: NfvoWithVnfms;
  // RabbitMQ users are broker-wide and the VNFM's user is its type: unique per run.
  const vnfmType = uniqueName("fog");
  let api: string;
  let x86Node: string;
  let piNode: string;

  beforeAll(async () => {
    engineA = await requireDocker();
    engineB = await requireSecondDocker(ARM64_IMAGE);
    await requireMqtt();
    requireArm64();
    for (const [engine, image, arch] of [
      [engineA, ARM64_IMAGE, "arm64"],
      [engineA, MULTI_IMAGE, "amd64"],
      [engineB, MULTI_IMAGE, "arm64"],
    ] as const) {
      const found = await engine
        .getImage(image)
        .inspect()
        .catch(() => undefined);
      if (found?.Architecture !== arch)
        throw new Error(`${image} is not linux/${arch} on an engine; run bash scripts/setup.sh`);
    }
    execFileSync("npx", ["tsc", "-b"], { cwd: REPO, stdio: "pipe" });
    x86 = await startAgentsInProcess([
      {
        labels: { zone: "hall" },
        mqtt: { url: MQTT_URL, topicPrefix: prefix },
        runtime: { pullMissingImages: false },
      },
    ]);
    x86Node = x86.nodeIds[0]!;
    piSetup = await testAgentSetup({
      labels: { zone: "pi-corner" },
      mqtt: { url: MQTT_URL, topicPrefix: prefix },
      runtime: { docker: { socketPath: DOCKER_B_SOCKET }, pullMissingImages: false },
    });
    piNode = piSetup.nodeId;
    pi = spawnArm64Agent(piSetup.configFile);
    const port = await freePort();
    ({ h, nfvo } = await startVnfmHarness({
      vnfmType,
      topicPrefix: prefix,
      driver: { api: { enabled: true, port, token }, launchTimeoutMs: 60000 },
    }));
    api = `http://127.0.0.1:${port}/api/v1`;
    await h.emulator.registerVim(h.vim);
    await h.waitForNodes(2, 90000);
  });

  afterAll(async () => {
    await h?.close();
    if (pi) await stopProcess(pi);
    if (piSetup !== undefined) {
      await removeContainersByLabel("org.openiotfog.node", piSetup.nodeId, engineB);
      await piSetup.cleanup();
    }
    await x86?.stop();
  });

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the API's JSON, read field by field below
  async function call(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
    const res = await fetch(`${api}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, json: await res.json() };
  }

  /** One service as a blueprint (the fleet API's format), optionally with constraints. */
  function workload(image: string, constraints: string[] = []): { name: string; blueprint: string } {
    const name = uniqueName("w").toLowerCase();
    const lines = [
      "tosca_definitions_version: openiotfog_blueprint_1_0",
      `metadata: { name: ${name} }`,
      "topology_template:",
      "  node_templates:",
      "    svc:",
      "      type: openiotfog.nodes.Container",
      "      properties:",
      `        image: ${image}`,
      '        command: [sleep, "3600"]',
      ...(constraints.length === 0
        ? []
        : ["      placement:", "        constraints:", ...constraints.map((c) => `          - ${c}`)]),
    ];
    return { name, blueprint: `${lines.join("\n")}\n` };
  }

  async function explain(image: string): Promise<ExplainResult> {
    const r = await call("POST", "/placement/explain", workload(image));
    expect(r.status).toBe(200);
    return r.json as ExplainResult;
  }

  /** The feasible node ids of the only decision, and the image-platform failure seen on each rejected node. */
  function outcome(r: ExplainResult): { feasible: string[]; platformSeen: Record<string, string> } {
    const explanation = r.decisions[0]!.decision.explanation;
    const feasible = explanation.nodes
      .filter((n) => n.feasible)
      .map((n) => n.nodeId)
      .sort();
    const platformSeen: Record<string, string> = {};
    for (const n of explanation.nodes)
      for (const f of n.failures) if (f.filter === "image-platform") platformSeen[n.nodeId] = f.seen;
    return { feasible, platformSeen };
  }

  it("the agents report their architectures (the arm64 one emulated)", async () => {
    const nodes = (await call("GET", "/nodes")).json.nodes as Array<{
      nodeId: string;
      capabilities?: { platform?: { arch?: string } };
    }>;
    const arch = Object.fromEntries(nodes.map((n) => [n.nodeId, n.capabilities?.platform?.arch]));
    expect(arch).toEqual({ [x86Node]: "amd64", [piNode]: "arm64" });
  });

  it("an amd64-only image goes to the x86_64 node only, and runs there", async () => {
    const { feasible, platformSeen } = outcome(await explain(TEST_IMAGE));
    expect(feasible).toEqual([x86Node]);
    expect(platformSeen).toEqual({ [piNode]: "linux/arm64" });

    const w = workload(TEST_IMAGE);
    const deployed = await call("POST", "/deployments", w);
    expect(deployed.status).toBe(201);
    expect(deployed.json.replicas.map((r: { nodeId: string }) => r.nodeId)).toEqual([x86Node]);
    expect((await containersOfNode(x86Node, engineA)).map((c) => c.State)).toEqual(["running"]);
    expect((await call("DELETE", `/deployments/${w.name}`)).status).toBe(200);
  });

  it("an arm64-only image goes to the arm64 node only (placement and explanation; no arm64 engine here to start it)", async () => {
    const { feasible, platformSeen } = outcome(await explain(ARM64_IMAGE));
    expect(feasible).toEqual([piNode]);
    expect(platformSeen).toEqual({ [x86Node]: "linux/amd64" });
  });

  it("a multi-arch image may go to either node", async () => {
    const { feasible, platformSeen } = outcome(await explain(MULTI_IMAGE));
    expect(feasible).toEqual([piNode, x86Node].sort());
    expect(platformSeen).toEqual({});
  });

  it("a launch only the wrong-architecture node could take is refused with the explanation: fleet API", async () => {
    const why = `image ${TEST_IMAGE} has linux/amd64 only; node ${piNode} is linux/arm64`;
    const r = await call("POST", "/deployments", workload(TEST_IMAGE, ["node.labels.zone == pi-corner"]));
    expect(r.status).toBeGreaterThanOrEqual(400);
    expect(JSON.stringify(r.json)).toContain(why);
    expect(await containersOfNode(piNode, engineB)).toEqual([]);
  });

  it("... and through the Open Baton launch (NFVO emulator → launchInstanceAndWait)", async () => {
    const harness = h as DriverHarness;
    let error: unknown;
    try {
      await harness.emulator.allocate(harness.vim.name, {
        vnfrName: "wrongarch",
        vmImage: TEST_IMAGE,
        connectionPoints: [
          {
            virtual_link_reference: "pi-lan",
            metadata: { "iotfog.constraints": "node.labels.zone==pi-corner" },
          },
        ],
        userdata: `#Hostname=\n${formatFogSpec({ command: ["sleep", "3600"] })}\n`,
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(PluginException);
    const detail = (error as PluginException).vimDriverException?.detailMessage ?? "";
    // The driver names the image by the tag it resolved the NFVO's image to (any tag of the same image id).
    expect(detail).toMatch(new RegExp(`image \\S+ has linux/amd64 only; node ${piNode} is linux/arm64`));
    expect(await containersOfNode(piNode, engineB)).toEqual([]);
    await harness.emulator
      .call(harness.vim, "deleteNetwork", ["iotfog-pi-lan"], "Boolean")
      .catch(() => undefined);
  });

  it("... and through the fog VNFM (an NSD whose VNFD only the arm64 node matches): an ERROR with the explanation", async () => {
    const nsd = loadNsd("nsd-zigbee-line2.json", vnfmType);
    const vnfd = (nsd.vnfd as Array<Record<string, unknown>>)[0]!;
    const config = vnfd.configurations as {
      configurationParameters: Array<{ confKey: string; value: string }>;
    };
    // The ZigBee gateway of the example NSD without its stick, on the Pi's zone, with the amd64-only image.
    config.configurationParameters = config.configurationParameters
      .filter((p) => p.confKey !== "fog.devices")
      .map((p) => (p.confKey === "constraints" ? { ...p, value: "node.labels.zone==pi-corner" } : p));
    const failed = await nfvo.deployNsr(nsd, (h as DriverHarness).vim.name);
    expect(failed.status).toBe("ERROR");
    expect(failed.errors).toHaveLength(1);
    const why = failed.errors[0] as string;
    expect(why).toContain("ALLOCATE_RESOURCES for zigbee-gateway failed");
    expect(why).toMatch(new RegExp(`image \\S+ has linux/amd64 only; node ${piNode} is linux/arm64`));
    expect(await containersOfNode(piNode, engineB)).toEqual([]);
  });
});
