/**
 * An image present only on another node: two real agents on two real Docker engines (agent B on the tests'
 * second engine, own image store), the NFVO emulator launching with constraints only node B satisfies and an
 * image tagged only on engine A. The driver copies the image A → B over ZeroMQ (images.export on A,
 * images.import on B, no registry) and the container runs on B.
 */
import type Docker from "dockerode";
import { formatFogSpec } from "@openiotfog/vim-driver/openbaton/fog-spec";
import { startAgentsInProcess, type InProcessAgents } from "../helpers/agents";
import {
  DOCKER_B_SOCKET,
  MQTT_URL,
  TEST_IMAGE,
  containersOfNode,
  hasImage,
  removeContainersByLabel,
  requireDocker,
  requireMqtt,
  requireSecondDocker,
  uniqueName,
  waitFor,
} from "../helpers/services";
import { startDriverHarness, type DriverHarness } from "../nfvo-emulator/harness";

describe("driver: an image only another node has is copied over ZeroMQ, then run", () => {
  const prefix = uniqueName("iotfog-test");
  // Docker references are lower-case.
  const onlyOnA = `openiotfog/only-on-a:${uniqueName("t").toLowerCase()}`;
  let fleet: InProcessAgents | undefined;
  let engineA: Docker;
  let engineB: Docker;
  let h: DriverHarness | undefined;
  let nodeA: string;
  let nodeB: string;

  beforeAll(async () => {
    engineA = await requireDocker();
    engineB = await requireSecondDocker();
    await requireMqtt();
    // A run killed before its afterAll leaves its tag on both engines; node B then "holds" the image by id and
    // nothing is copied. Start from engines without such leftovers.
    for (const engine of [engineA, engineB]) {
      const stale = await engine.listImages({ filters: { reference: ["openiotfog/only-on-a"] } });
      for (const tag of stale.flatMap((i) => i.RepoTags ?? [])) await engine.getImage(tag).remove();
    }
    await engineA.getImage(TEST_IMAGE).tag({
      repo: onlyOnA.slice(0, onlyOnA.lastIndexOf(":")),
      tag: onlyOnA.slice(onlyOnA.lastIndexOf(":") + 1),
    });
    const agentOn = (zone: string, socketPath: string) => ({
      labels: { zone },
      mqtt: { url: MQTT_URL, topicPrefix: prefix },
      runtime: { docker: { socketPath }, pullMissingImages: false },
    });
    fleet = await startAgentsInProcess([
      agentOn("hall-a", "/var/run/docker.sock"),
      agentOn("hall-b", DOCKER_B_SOCKET),
    ]);
    [nodeA, nodeB] = fleet.nodeIds as [string, string];
    h = await startDriverHarness({ topicPrefix: prefix, driver: { launchTimeoutMs: 60000 } });
    const harness = h;
    await harness.emulator.registerVim(harness.vim);
    await harness.waitForNodes(2);
  });

  afterAll(async () => {
    // Also when the test stopped before its own deleteNetwork (idempotent).
    await h?.emulator.call(h.vim, "deleteNetwork", ["iotfog-hall-lan"], "Boolean").catch(() => undefined);
    await h?.close();
    await fleet?.stopAgents();
    // The set-ups' own cleanup covers engine A; agent B's containers live on engine B.
    const nodeOnB = fleet?.nodeIds[1];
    if (nodeOnB !== undefined && engineB !== undefined)
      await removeContainersByLabel("org.openiotfog.node", nodeOnB, engineB);
    await fleet?.stop();
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
    const onB = await containersOfNode(nodeB, engineB);
    expect(onB.map((c) => [c.Image, c.State])).toEqual([[onlyOnA, "running"]]);
    expect(await containersOfNode(nodeA, engineA)).toEqual([]);

    await harness.emulator.release(harness.vim.name, vnfc.vc_id);
    await waitFor(async () => (await containersOfNode(nodeB, engineB)).length === 0, {
      timeoutMs: 20000,
      what: "container removed from engine B",
    });
    expect(await harness.emulator.call(harness.vim, "deleteNetwork", ["iotfog-hall-lan"], "Boolean")).toBe(
      true,
    );
  });
});
