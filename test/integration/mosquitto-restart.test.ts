/**
 * A real Mosquitto restarted under a running fleet (issue 17, item 2): the test's own broker process (Debian's
 * mosquitto, its own port and persistence file), two in-process agents with a container each and the real driver
 * on it. The broker is stopped long enough for the driver to count the nodes gone, then started again: once with
 * its persistence file (retained messages survive) and once with the file removed (nothing retained). Each time
 * every agent re-announces itself, the driver's fleet view is whole again, and the containers are untouched (same
 * ids, same start times). The time from the broker's start to a whole fleet is printed.
 */
import { existsSync, rmSync } from "node:fs";
import { AgentClient } from "@openiotfog/shared";
import { startAgentsInProcess, type InProcessAgents } from "../helpers/agents";
import { OwnMosquitto } from "../helpers/mosquitto";
import { TEST_IMAGE, docker, requireDocker, uniqueName } from "../helpers/services";
import { startDriverHarness, type DriverHarness } from "../nfvo-emulator/harness";
import { DiscoveryWatcher } from "./agent-helpers";

describe("a real Mosquitto restarted under a running fleet", () => {
  const prefix = uniqueName("iotfog-mosq");
  let broker: OwnMosquitto;
  let fleet: InProcessAgents | undefined;
  let h: DriverHarness;
  /** Container id → its start time, of one container per node. */
  const running = new Map<string, string>();

  async function containersNow(): Promise<Map<string, string>> {
    const now = new Map<string, string>();
    for (const id of running.keys()) {
      const c = await docker().getContainer(id).inspect();
      now.set(c.Id, `${c.State.Status} since ${c.State.StartedAt}`);
    }
    return now;
  }

  /** Stops the broker until the driver has counted every node gone, then starts it; the ms to a whole fleet. */
  async function restartBroker(wipe: boolean): Promise<number> {
    const before = await containersNow();
    await broker.halt();
    await h.waitForNodes(0, 30000);
    // Mosquitto saved its retained messages on the way out.
    expect(existsSync(broker.persistenceFile)).toBe(true);
    if (wipe) rmSync(broker.persistenceFile);
    const startedAt = Date.now();
    await broker.resume();
    const watcher = await DiscoveryWatcher.start(prefix, broker.url);
    try {
      // Every agent announces itself again on the restarted broker (a reconnect, not the retained start-up one).
      for (const nodeId of fleet!.nodeIds) {
        await watcher.waitFor(
          "presence",
          (m) => m.nodeId === nodeId && m.payload.state === "online" && m.payload.reason === "reconnect",
          { timeoutMs: 30000, what: `${nodeId} announcing itself after the restart` },
        );
        await watcher.waitFor("capabilities", (m) => m.nodeId === nodeId, {
          timeoutMs: 30000,
          what: `${nodeId}'s capabilities after the restart`,
        });
      }
      await h.waitForNodes(fleet!.nodeIds.length, 30000);
      const wholeAfter = Date.now() - startedAt;
      expect(await containersNow()).toEqual(before);
      return wholeAfter;
    } finally {
      await watcher.stop();
    }
  }

  beforeAll(async () => {
    await requireDocker();
    broker = await OwnMosquitto.start();
    fleet = await startAgentsInProcess(
      ["line-1", "line-2"].map((zone) => ({
        labels: { zone },
        mqtt: { url: broker.url, topicPrefix: prefix, keepaliveSeconds: 1 },
      })),
    );
    h = await startDriverHarness({
      topicPrefix: prefix,
      driver: { mqtt: { url: broker.url, topicPrefix: prefix }, fleet: { nodeExpiryMs: 3000 } },
    });
    await h.waitForNodes(2);
    for (const [i, a] of fleet.agents.entries()) {
      const client = new AgentClient({
        endpoint: a.endpoint.advertise,
        timeoutMs: 20000,
        retries: 0,
        curve: fleet.setups[i]!.curve,
      });
      try {
        const { deployment } = await client.call("deploy", {
          deploymentId: uniqueName("keep"),
          spec: {
            name: "keeper",
            image: TEST_IMAGE,
            command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"],
          },
        });
        running.set(deployment.containerId!, deployment.startedAt ?? "");
      } finally {
        await client.close();
      }
    }
  });

  afterAll(async () => {
    await h?.close();
    await fleet?.stop();
    await broker?.stop();
  });

  it("restarted with its persistence file: every agent re-announces, the fleet is whole, nothing running touched", async () => {
    const ms = await restartBroker(false);
    console.log(
      `Mosquitto restarted (persistence kept): the driver's fleet was whole ${ms} ms after the start`,
    );
  });

  it("restarted with its persistence file removed: the same, with no retained message left to help", async () => {
    const ms = await restartBroker(true);
    console.log(
      `Mosquitto restarted (persistence removed): the driver's fleet was whole ${ms} ms after the start`,
    );
  });
});
