/**
 * `vnfm.autoHeal`: the fleet's reconciler places a VNFC of a lost node again by itself and the fog VNFM tells the
 * NFVO with UPDATEVNFR (docs/self-healing.md#open-baton). The NFVO emulator deploys the iperf NSD through the real
 * driver (buildDriver with the VNFM) over a real RabbitMQ, on two real agents on two real Docker engines, whose
 * command endpoints are on different loopback addresses (127.0.0.2, 127.0.0.3) so a VNFC's IP changes with its
 * node. The agent under iperf-server stops; nobody sends HEAL. The emulator merges the UPDATEVNFR the way the
 * NFVO's UpdatevnfrTask does (update-vnfr.ts), so its record shows what the NFVO would hold. When the lost agent
 * starts again, the copy it still runs is removed: one iperf-server remains.
 * The ERROR-then-HEAL path with `autoHeal: false` is vnfm-heal.test.ts, unchanged.
 */
import type Docker from "dockerode";
import { startAgentsInProcess, type InProcessAgents } from "../helpers/agents";
import {
  DOCKER_B_SOCKET,
  MQTT_URL,
  containersOfNode,
  freePort,
  requireDocker,
  requireMqtt,
  requireSecondDocker,
  uniqueName,
  waitFor,
} from "../helpers/services";
import type { DriverHarness } from "../nfvo-emulator/harness";
import { TUTORIAL_IMAGES, ensureTutorialImages } from "../nfvo-emulator/vnfm/images";
import type { NfvoWithVnfms } from "../nfvo-emulator/vnfm/nfvo-vnfm";
import { instances, loadNsd, startNsdHarness } from "../nfvo-emulator/vnfm/nsd-harness";
import {
  copiesOf,
  copyImage,
  deploymentOf,
  nodeOf,
  removeNodesFrom,
  runningOn,
} from "../nfvo-emulator/vnfm/two-engines";
import { startInProcess, type TestAgentSetup } from "./agent-helpers";

type Json = Record<string, unknown>;
const ADDRESSES = ["127.0.0.2", "127.0.0.3"] as const;

describe("fog VNFM with autoHeal: the fleet places a VNFC of a lost node again, the NFVO gets UPDATEVNFR", () => {
  const prefix = uniqueName("iotfog-autoheal");
  const vnfmType = uniqueName("fog");
  let engineA: Docker;
  let engineB: Docker;
  const loadedOnB: string[] = [];
  let fleet: InProcessAgents | undefined;
  let h: DriverHarness | undefined;
  let nfvo: NfvoWithVnfms;
  let nodes: [string, string];
  let engines: [Docker, Docker];

  beforeAll(async () => {
    engineA = await requireDocker();
    engineB = await requireSecondDocker();
    await requireMqtt();
    await ensureTutorialImages();
    // The VNFC is placed again while its first node is away: the other node must have the image already.
    for (const tag of TUTORIAL_IMAGES) if (await copyImage(tag, engineA, engineB)) loadedOnB.push(tag);
    const agentOn = async (line: string, socketPath: string, address: string) => ({
      labels: { line },
      mqtt: { url: MQTT_URL, topicPrefix: prefix, keepaliveSeconds: 1 },
      runtime: { docker: { socketPath }, pullMissingImages: false },
      zmq: { bind: `tcp://${address}:${await freePort()}` },
    });
    fleet = await startAgentsInProcess([
      await agentOn("1", "/var/run/docker.sock", ADDRESSES[0]),
      await agentOn("2", DOCKER_B_SOCKET, ADDRESSES[1]),
    ]);
    nodes = fleet.nodeIds as [string, string];
    engines = [engineA, engineB];
    ({ h, nfvo } = await startNsdHarness({
      topicPrefix: prefix,
      vnfmType,
      nodes: 2,
      launchTimeoutMs: 30000,
      autoHeal: true,
    }));
  });

  afterAll(async () => {
    await h?.close();
    await fleet?.stopAgents();
    await removeNodesFrom(fleet?.nodeIds ?? [], [engineA, engineB]);
    await fleet?.stop();
    for (const tag of loadedOnB) await engineB.getImage(tag).remove();
  });

  it("re-places iperf-server on the other node without HEAL; the NFVO's record holds the new vc_id, IPs and state", async () => {
    const f = fleet as InProcessAgents;
    const nsr = await nfvo.deployNsr(loadNsd("nsd-iperf.json", vnfmType), (h as DriverHarness).vim.name);
    expect(nsr.errors).toEqual([]);
    expect(nsr.status).toBe("ACTIVE");
    const before = instances(nsr.vnfrs.get("iperf-server"));
    expect(before).toHaveLength(1);
    const old = before[0] as Json;
    const oldVc = String(old.vc_id);
    const hostname = String(old.hostname);
    const lost = nodes.indexOf(nodeOf(oldVc));
    expect(lost).toBeGreaterThanOrEqual(0);
    const other = 1 - lost;
    expect(old.ips).toEqual([{ netName: "new-network", ip: ADDRESSES[lost] }]);

    const oneWayBefore = nfvo.oneWay.length;
    await f.agents[lost]?.lifecycle.stop();
    const update = await waitFor(
      () =>
        nfvo.updates.find((r) => r.name === "iperf-server" && instances(r).some((i) => i.vc_id !== oldVc)),
      { timeoutMs: 30000, what: "the VNFM's UPDATEVNFR for iperf-server" },
    );

    // What the NFVO holds after UpdatevnfrTask: one VNFC instance, the moved one, whole.
    const newVc = `${nodes[other]}:${deploymentOf(oldVc)}`;
    const after = instances(update);
    expect(after).toHaveLength(1);
    const moved = after[0] as Json;
    expect(moved).toMatchObject({
      vc_id: newVc,
      hostname,
      state: "ACTIVE",
      vim_id: old.vim_id,
      ips: [{ netName: "new-network", ip: ADDRESSES[other] }],
      floatingIps: [],
    });
    expect(moved.id).not.toBe(old.id);
    expect((moved.vnfComponent as Json).id).toBe((old.vnfComponent as Json).id);
    expect(update.vnf_address).toEqual([ADDRESSES[other]]);
    expect(update.status).toBe("ACTIVE");
    expect(nsr.status).toBe("ACTIVE");
    expect(nsr.errors).toEqual([]);
    // Nothing was reported as an ERROR: the fleet healed it.
    expect(nfvo.oneWay.slice(oneWayBefore).filter((m) => m.action === "ERROR")).toEqual([]);
    // On the new node the VNFC is on its virtual link's network there, reachable by its hostname.
    const [container] = await (engines[other] as Docker).listContainers({
      filters: {
        label: [`org.openiotfog.node=${nodes[other]}`, `org.openiotfog.deployment=${deploymentOf(newVc)}`],
      },
    });
    const networks = (await (engines[other] as Docker).getContainer(String(container?.Id)).inspect())
      .NetworkSettings.Networks;
    const link = Object.entries(networks).find(([name]) => name.includes("new-network"));
    expect(link?.[1].Aliases).toContain(hostname);
    const network = await (engines[other] as Docker).getNetwork(String(link?.[0])).inspect();
    expect((network as { Labels?: Record<string, string> }).Labels?.["org.openiotfog.node"]).toBe(
      nodes[other],
    );
    // The NFVO's STOP / START of the moved VNFC act on its new container.
    const reply = await nfvo.startStopVnfc(nsr, "iperf-server", "STOP", newVc);
    expect(reply?.action).toBe("STOP");
    expect(await runningOn(engines[other] as Docker, newVc)).toBe(false);
    const started = await nfvo.startStopVnfc(nsr, "iperf-server", "START", newVc);
    expect(started?.action).toBe("START");
    expect(await runningOn(engines[other] as Docker, newVc)).toBe(true);
    // While the node is away its copy still runs there (the agent keeps it); it is owed a removal.
    expect(await runningOn(engines[lost] as Docker, oldVc)).toBe(true);

    // The node comes back (same node id, engine and data): its superseded copy is removed.
    f.agents[lost] = await startInProcess((f.setups[lost] as TestAgentSetup).config);
    await waitFor(async () => (await copiesOf(engines, hostname)).length === 1, {
      timeoutMs: 30000,
      what: "the old iperf-server container removed from the returning node",
    });
    expect(await copiesOf(engines, hostname)).toEqual([newVc]);
    expect(await runningOn(engines[other] as Docker, newVc)).toBe(true);

    await nfvo.releaseNsr(nsr);
    await waitFor(
      async () =>
        (await containersOfNode(nodes[0], engineA)).length +
          (await containersOfNode(nodes[1], engineB)).length ===
        0,
      { timeoutMs: 20000, what: "no container left on either node" },
    );
  });
});
