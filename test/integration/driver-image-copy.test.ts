/**
 * An image present only on another node: two real agents on two real Docker engines (agent B on the tests'
 * second engine, own image store), the NFVO emulator launching with constraints only node B satisfies and an
 * image tagged only on engine A. The driver copies the image A → B over ZeroMQ (images.export on A,
 * images.import on B, no registry) and the container runs on B.
 */
import type Docker from "dockerode";
import type { Agent } from "@openiotfog/edge-agent";
import { formatFogSpec } from "@openiotfog/vim-driver/openbaton/fog-spec";
import {
  DOCKER_B_SOCKET,
  TEST_IMAGE,
  requireDocker,
  requireMqtt,
  requireSecondDocker,
  uniqueName,
  waitFor,
} from "../helpers/services";
import { startInProcess, testAgentSetup, type TestAgentSetup } from "./agent-helpers";
import { startDriverHarness, type DriverHarness } from "../nfvo-emulator/harness";

async function containersOf(engine: Docker, nodeId: string): Promise<Docker.ContainerInfo[]> {
  return engine.listContainers({ all: true, filters: { label: [`org.openiotfog.node=${nodeId}`] } });
}

async function hasImage(engine: Docker, tag: string): Promise<boolean> {
  return engine
    .getImage(tag)
    .inspect()
    .then(
      () => true,
      () => false,
    );
}

describe("driver: an image only another node has is copied over ZeroMQ, then run", () => {
  const prefix = uniqueName("iotfog-test");
  // Docker references are lower-case.
  const onlyOnA = `openiotfog/only-on-a:${uniqueName("t").toLowerCase()}`;
  const setups: TestAgentSetup[] = [];
  const agents: Agent[] = [];
  let engineA: Docker;
  let engineB: Docker;
  let h: DriverHarness | undefined;
  let nodeA: string;
  let nodeB: string;

  beforeAll(async () => {
    engineA = await requireDocker();
    engineB = await requireSecondDocker();
    await requireMqtt();
    await engineA.getImage(TEST_IMAGE).tag({
      repo: onlyOnA.slice(0, onlyOnA.lastIndexOf(":")),
      tag: onlyOnA.slice(onlyOnA.lastIndexOf(":") + 1),
    });
    for (const [zone, socketPath] of [
      ["hall-a", "/var/run/docker.sock"],
      ["hall-b", DOCKER_B_SOCKET],
    ] as const) {
      const s = await testAgentSetup({
        labels: { zone },
        mqtt: { url: process.env.IOTFOG_TEST_MQTT_URL ?? "mqtt://127.0.0.1:1883", topicPrefix: prefix },
        runtime: { docker: { socketPath }, pullMissingImages: false },
      });
      setups.push(s);
      agents.push(await startInProcess(s.config));
    }
    nodeA = (setups[0] as TestAgentSetup).nodeId;
    nodeB = (setups[1] as TestAgentSetup).nodeId;
    h = await startDriverHarness({ topicPrefix: prefix, driver: { launchTimeoutMs: 60000 } });
    const harness = h;
    await harness.emulator.registerVim(harness.vim);
    await harness.waitForNodes(2);
  });

  afterAll(async () => {
    // Also when the test stopped before its own deleteNetwork (idempotent).
    await h?.emulator.call(h.vim, "deleteNetwork", ["iotfog-hall-lan"], "Boolean").catch(() => undefined);
    await h?.close();
    for (const a of agents) await a.lifecycle.stop();
    // The setups' own cleanup covers engine A; agent B's containers live on engine B.
    const setupB = setups[1];
    if (setupB !== undefined && engineB !== undefined) {
      for (const c of await containersOf(engineB, setupB.nodeId))
        await engineB.getContainer(c.Id).remove({ force: true });
    }
    for (const s of setups) await s.cleanup();
    for (const engine of [engineA, engineB]) {
      if (engine !== undefined && (await hasImage(engine, onlyOnA))) await engine.getImage(onlyOnA).remove();
    }
  });

  it("launchInstanceAndWait on the node that lacks the image: copied A → B, the container runs on B", async () => {
    const harness = h as DriverHarness;
    expect(await hasImage(engineA, onlyOnA)).toBe(true);
    expect(await hasImage(engineB, onlyOnA)).toBe(false);
    const vim = await harness.emulator.refresh(harness.vim.name);
    expect((vim.images ?? []).some((i) => (i.tags ?? []).includes(onlyOnA))).toBe(true);

    const vnfc = await harness.emulator.allocate(harness.vim.name, {
      vnfrName: "copied",
      vmImage: onlyOnA,
      connectionPoints: [
        {
          virtual_link_reference: "hall-lan",
          metadata: { "iotfog.constraints": "node.labels.zone==hall-b" },
        },
      ],
      userdata: `#Hostname=\n${formatFogSpec({ command: ["sleep", "3600"] })}\n`,
    });
    expect(vnfc.server.hypervisorHostName).toBe(nodeB);
    expect(vnfc.state).toBe("ACTIVE");
    expect(vnfc.ips).toEqual([{ netName: "hall-lan", ip: "127.0.0.1" }]);

    // Copied, not pulled (agent B may not pull): the same image id under the same tag on engine B.
    const idOnA = (await engineA.getImage(onlyOnA).inspect()).Id;
    expect((await engineB.getImage(onlyOnA).inspect()).Id).toBe(idOnA);
    const onB = await containersOf(engineB, nodeB);
    expect(onB.map((c) => [c.Image, c.State])).toEqual([[onlyOnA, "running"]]);
    expect(await containersOf(engineA, nodeA)).toEqual([]);

    await harness.emulator.release(harness.vim.name, vnfc.vc_id);
    await waitFor(async () => (await containersOf(engineB, nodeB)).length === 0, {
      timeoutMs: 20000,
      what: "container removed from engine B",
    });
    expect(await harness.emulator.call(harness.vim, "deleteNetwork", ["iotfog-hall-lan"], "Boolean")).toBe(
      true,
    );
  });
});
