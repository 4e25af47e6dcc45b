/**
 * HEAL of a VNFC whose fog node is lost, and what is left on that node when it comes back. The NFVO emulator
 * deploys the iperf NSD through the real driver (buildDriver with the VNFM) over a real RabbitMQ, on two real
 * agents on two real Docker engines (the tests' second engine has its own image store). The agent under
 * iperf-server stops (its container keeps running: the agent keeps its desired state), the NFVO sends HEAL, the
 * VNFM places the VNFC on the other node. When the lost agent starts again (same node id, same engine, same
 * data), the driver removes the old container it owed that node: one iperf-server remains.
 */
import type Docker from "dockerode";
import { createLogger, type Lifecycle } from "@openiotfog/shared";
import { buildDriver } from "@openiotfog/vim-driver";
import { startAgentsInProcess, type InProcessAgents } from "../helpers/agents";
import {
  DOCKER_B_SOCKET,
  MQTT_URL,
  containersOfNode,
  requireDocker,
  requireMqtt,
  requireSecondDocker,
  uniqueName,
  waitFor,
} from "../helpers/services";
import type { DriverHarness } from "../nfvo-emulator/harness";
import { TUTORIAL_IMAGES, ensureTutorialImages } from "../nfvo-emulator/vnfm/images";
import type { NfvoWithVnfms, NsrRecord } from "../nfvo-emulator/vnfm/nfvo-vnfm";
import { instances, loadNsd, startNsdHarness } from "../nfvo-emulator/vnfm/nsd-harness";
import { copiesOf, copyImage, nodeOf, removeNodesFrom, runningOn } from "../nfvo-emulator/vnfm/two-engines";
import { startInProcess, type TestAgentSetup } from "./agent-helpers";

type Json = Record<string, unknown>;

describe("fog VNFM: HEAL of a VNFC on a lost node, the old container removed when the node is back", () => {
  const prefix = uniqueName("iotfog-heal");
  const vnfmType = uniqueName("fog");
  let engineA: Docker;
  let engineB: Docker;
  const loadedOnB: string[] = [];
  let fleet: InProcessAgents | undefined;
  let h: DriverHarness | undefined;
  let nfvo: NfvoWithVnfms;
  let nodes: [string, string];
  let engines: [Docker, Docker];
  /** The driver started again by the restart test (the harness stops only its own). */
  let restarted: Lifecycle | undefined;

  beforeAll(async () => {
    engineA = await requireDocker();
    engineB = await requireSecondDocker();
    await requireMqtt();
    await ensureTutorialImages();
    // The VNFC is placed again while its first node is away: the other node must have the image already.
    for (const tag of TUTORIAL_IMAGES) if (await copyImage(tag, engineA, engineB)) loadedOnB.push(tag);
    const agentOn = (line: string, socketPath: string) => ({
      labels: { line },
      mqtt: { url: MQTT_URL, topicPrefix: prefix, keepaliveSeconds: 1 },
      runtime: { docker: { socketPath }, pullMissingImages: false },
    });
    fleet = await startAgentsInProcess([agentOn("1", "/var/run/docker.sock"), agentOn("2", DOCKER_B_SOCKET)]);
    nodes = fleet.nodeIds as [string, string];
    engines = [engineA, engineB];
    ({ h, nfvo } = await startNsdHarness({
      topicPrefix: prefix,
      vnfmType,
      nodes: 2,
      launchTimeoutMs: 30000,
    }));
  });

  afterAll(async () => {
    await restarted?.stop();
    await h?.close();
    await fleet?.stopAgents();
    await removeNodesFrom(fleet?.nodeIds ?? [], [engineA, engineB]);
    await fleet?.stop();
    for (const tag of loadedOnB) await engineB.getImage(tag).remove();
  });

  /**
   * Deploys the iperf NSD, stops the agent under iperf-server (its container keeps running there) and heals
   * the VNFC as the NFVO does; checks the VNFM's answer and that both copies exist while the node is away.
   */
  async function deployLoseAndHeal(): Promise<{
    nsr: NsrRecord;
    hostname: string;
    oldVc: string;
    newVc: string;
    lost: number;
    other: number;
  }> {
    const f = fleet as InProcessAgents;
    const nsr = await nfvo.deployNsr(loadNsd("nsd-iperf.json", vnfmType), (h as DriverHarness).vim.name);
    expect(nsr.errors).toEqual([]);
    expect(nsr.status).toBe("ACTIVE");
    const server = instances(nsr.vnfrs.get("iperf-server"))[0] as Json;
    const oldVc = String(server.vc_id);
    const hostname = String(server.hostname);
    const lost = nodes.indexOf(nodeOf(oldVc));
    expect(lost).toBeGreaterThanOrEqual(0);
    const other = 1 - lost;

    const seen = nfvo.oneWay.length;
    await f.agents[lost]?.lifecycle.stop();
    await waitFor(
      () =>
        nfvo.oneWay
          .slice(seen)
          .find(
            (m) =>
              m.action === "ERROR" &&
              String((m.exception as Json | undefined)?.detailMessage).includes(
                "fog node lost under iperf-server",
              ),
          ),
      { timeoutMs: 20000, what: "the VNFM's ERROR about the lost node" },
    );
    expect(await runningOn(engines[lost] as Docker, oldVc)).toBe(true);
    // autoHeal is off: the fleet waits for the node, nothing is re-placed and no record update goes out.
    expect(await copiesOf(engines, hostname)).toEqual([oldVc]);
    expect(nfvo.updates).toEqual([]);

    const reply = await nfvo.healVnfc(nsr, "iperf-server", oldVc, "fog node lost");
    expect(reply?.action).toBe("HEAL");
    expect(reply?.cause).toBe("fog node lost");
    const healed = reply?.vnfcInstance as Json;
    const newVc = String(healed.vc_id);
    expect(healed).toMatchObject({ state: "ACTIVE", hostname });
    expect(nodeOf(newVc)).toBe(nodes[other]);
    expect(instances(nsr.vnfrs.get("iperf-server")).map((i) => [i.vc_id, i.state])).toEqual([
      [newVc, "ACTIVE"],
    ]);
    expect(nsr.status).toBe("ACTIVE");
    expect(await runningOn(engines[other] as Docker, newVc)).toBe(true);
    expect(await copiesOf(engines, hostname)).toEqual([oldVc, newVc].sort());
    return { nsr, hostname, oldVc, newVc, lost, other };
  }

  /** Starts the lost agent again (same node id, engine and data: it brings its containers back up). */
  async function nodeBack(lost: number): Promise<void> {
    const f = fleet as InProcessAgents;
    f.agents[lost] = await startInProcess((f.setups[lost] as TestAgentSetup).config);
  }

  /** One copy of the VNFC remains, the healed one, running; then the NSR's release leaves nothing. */
  async function oneCopyThenRelease(healed: Awaited<ReturnType<typeof deployLoseAndHeal>>): Promise<void> {
    await waitFor(async () => (await copiesOf(engines, healed.hostname)).length === 1, {
      timeoutMs: 30000,
      what: "the old iperf-server container removed from the returning node",
    });
    expect(await copiesOf(engines, healed.hostname)).toEqual([healed.newVc]);
    expect(await runningOn(engines[healed.other] as Docker, healed.newVc)).toBe(true);
    await nfvo.releaseNsr(healed.nsr);
    await waitFor(
      async () =>
        (await containersOfNode(nodes[0], engineA)).length +
          (await containersOfNode(nodes[1], engineB)).length ===
        0,
      { timeoutMs: 20000, what: "no container left on either node" },
    );
  }

  it("HEAL places iperf-server on the other node; the removal owed to the lost node is done when it is back", async () => {
    const healed = await deployLoseAndHeal();
    await nodeBack(healed.lost);
    await oneCopyThenRelease(healed);
  });

  it("a driver restart while the node is away keeps what it owed (declared state); the old copy is removed when the node is back", async () => {
    const healed = await deployLoseAndHeal();
    const harness = h as DriverHarness;
    await harness.stopDriver();
    restarted = buildDriver(
      harness.config,
      createLogger({ component: "driver", silent: process.env.IOTFOG_TEST_VERBOSE !== "1", level: "debug" }),
    );
    await restarted.start();
    await harness.waitForNodes(1);
    await nodeBack(healed.lost);
    await oneCopyThenRelease(healed);
  });
});
