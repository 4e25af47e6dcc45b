/**
 * Failover benchmark (issue 13, M3): a one-replica service runs on a real agent; the agent's node is lost; how long
 * until the driver side notices (node.offline), and until the replacement container runs on the other node.
 * Two kinds of loss, 10 runs each (argument 1 changes the count):
 *
 * - silent: the victim agent runs in its own network namespace (veth to the host) and every packet of the veth is
 *   dropped with nftables (a pulled cable, a power loss: no TCP close); the broker notices by keepalive, the fleet
 *   view by heartbeat expiry, whichever comes first;
 * - process death: the victim agent gets SIGKILL; the kernel closes its TCP connection and the broker publishes its
 *   last-will at once.
 *
 * Real parts throughout: two agents as processes (`iotfog agent`, product defaults for keepalive and presence),
 * the real Docker engine, a Mosquitto of the benchmark's own on the veth's host address (the shared one listens on
 * 127.0.0.1 only and is never reconfigured), and the driver's fleet view, agent pool and orchestrator with its
 * reconciler in this process. Prints min / median / max; asserts nothing.
 *
 *   npm run bench:failover [-- runs]
 *
 * Anchor: Docker Swarm marks a node down after ~15 s (5 s heartbeat × 3) and then reschedules; Nomad 20–30 s.
 * Targets: detection ≤ 7.5 s for a silent loss, replacement running ≤ 10 s after the loss (median).
 */
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { FleetEvent } from "@openiotfog/vim-driver";
import { startFleetDriver, type FleetDriver } from "../test/helpers/fleet-driver";
import {
  createIsolatedNode,
  spawnAgentProcess,
  startOwnBroker,
  writeAgentConfig,
  type OwnBroker,
} from "../test/helpers/netns";
import { stopProcess } from "../test/helpers/processes";
import {
  TEST_IMAGE,
  removeContainersByLabel,
  requireDocker,
  uniqueName,
  waitFor,
} from "../test/helpers/services";

const RUNS = Math.max(1, Math.min(50, Number(process.argv[2] ?? 10)));

interface AgentProcess {
  nodeId: string;
  configFile: string;
  child: ChildProcess;
}

function stats(samples: number[]): string {
  const s = [...samples].sort((a, b) => a - b);
  const median = s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  const f = (v: number | undefined): string => `${((v ?? NaN) / 1000).toFixed(2)} s`;
  return `min ${f(s[0])}  median ${f(median)}  max ${f(s[s.length - 1])}`;
}

async function main(): Promise<void> {
  await requireDocker();
  const node = createIsolatedNode();
  const dir = mkdtempSync(path.join(os.tmpdir(), "iotfog-bench-failover-"));
  const prefix = uniqueName("iotfog-failover");
  const victimId = uniqueName("fo-victim");
  const spareId = uniqueName("fo-spare");
  let broker: OwnBroker | undefined;
  let driver: FleetDriver | undefined;
  const agents: AgentProcess[] = [];
  try {
    broker = await startOwnBroker(node.hostAddress);
    const common = { dir, brokerUrl: broker.url, prefix };
    const victimConfig = await writeAgentConfig({
      ...common,
      nodeId: victimId,
      bindHost: node.nodeAddress,
      labels: { role: "primary" },
    });
    const spareConfig = await writeAgentConfig({
      ...common,
      nodeId: spareId,
      bindHost: "127.0.0.1",
      labels: { role: "spare" },
    });
    agents.push({ nodeId: victimId, configFile: victimConfig, child: spawnAgentProcess(victimConfig, node) });
    agents.push({ nodeId: spareId, configFile: spareConfig, child: spawnAgentProcess(spareConfig) });

    const fleet = await startFleetDriver({
      mqtt: { url: broker.url, topicPrefix: prefix },
      fleet: { stateFile: path.join(dir, "fleet.json") },
    });
    driver = fleet;
    const { orchestrator, pool } = fleet;
    const shared = { view: fleet.view, events: fleet.events };
    await waitFor(() => shared.view.nodes().filter((n) => n.online && n.capabilities).length === 2, {
      timeoutMs: 30000,
      what: "both agents in the fleet view",
    });
    console.log(
      `failover benchmark: ${RUNS} runs per kind; victim ${victimId} in netns ${node.ns} (${node.nodeAddress}), ` +
        `spare ${spareId}; broker ${broker.url}; product defaults (agent keepalive 4 s, heartbeat 2 s, expiry 6 s)`,
    );

    const victim = agents[0]!;
    const results: Record<"silent" | "kill", { detect: number[]; running: number[] }> = {
      silent: { detect: [], running: [] },
      kill: { detect: [], running: [] },
    };
    for (const kind of ["silent", "kill"] as const) {
      for (let i = 0; i < RUNS; i++) {
        const name = `fo-${kind}-${i}`;
        const placed = await orchestrator.deploy({
          name,
          services: [
            {
              name: "svc",
              image: TEST_IMAGE,
              command: ["sleep", "3600"],
              preferences: [
                { weight: 100, term: { attribute: "node.labels.role", operator: "==", value: "primary" } },
              ],
            },
          ],
        });
        if (placed.replicas[0]?.nodeId !== victimId) throw new Error(`${name} did not land on the victim`);
        let detectedAt: number | undefined;
        let runningAt: number | undefined;
        const off = shared.events.subscribe((e: FleetEvent) => {
          if (e.type === "node.offline" && e.nodeId === victimId) detectedAt ??= Date.now();
          if (
            e.type === "deployment.progress" &&
            e.deploymentId === name &&
            e.nodeId === spareId &&
            e.data?.phase === "started" &&
            e.data.state === "running"
          )
            runningAt ??= Date.now();
        });
        const t0 = Date.now();
        if (kind === "silent") node.cut();
        else victim.child.kill("SIGKILL");
        await waitFor(() => runningAt !== undefined, {
          timeoutMs: 60000,
          intervalMs: 20,
          what: `${name} running again`,
        });
        off();
        results[kind].detect.push((detectedAt ?? NaN) - t0);
        results[kind].running.push(runningAt! - t0);
        console.log(
          `  ${kind.padEnd(6)} run ${String(i + 1).padStart(2)}: detected ${((detectedAt! - t0) / 1000).toFixed(2)} s, ` +
            `running on ${spareId} ${((runningAt! - t0) / 1000).toFixed(2)} s`,
        );
        // The victim comes back; its superseded copy must go before the next run.
        if (kind === "silent") node.restore();
        else {
          await stopProcess(victim.child);
          victim.child = spawnAgentProcess(victim.configFile, node);
        }
        await waitFor(() => shared.view.node(victimId)?.online === true, {
          timeoutMs: 60000,
          what: "the victim back online",
        });
        await waitFor(async () => (await pool.client(victimId).call("list", {})).deployments.length === 0, {
          timeoutMs: 60000,
          intervalMs: 200,
          what: "the superseded copy removed from the victim",
        });
        await orchestrator.remove(name);
      }
    }
    console.log("");
    console.log("| loss | detection (node.offline) | replacement running |");
    console.log("|---|---|---|");
    for (const kind of ["silent", "kill"] as const)
      console.log(
        `| ${kind === "silent" ? "silent (nft drop)" : "process death (SIGKILL)"} | ${stats(results[kind].detect)} | ${stats(results[kind].running)} |`,
      );
    console.log("anchor: Docker Swarm ~15 s to mark a node down (then reschedules); Nomad 20-30 s");
    console.log("targets: silent detection <= 7.5 s; replacement running <= 10 s after the loss (median)");
  } finally {
    await driver?.stop().catch(() => undefined);
    for (const a of agents) await stopProcess(a.child, { killAfterMs: 5000 }).catch(() => undefined);
    for (const id of [victimId, spareId])
      await removeContainersByLabel("org.openiotfog.node", id).catch(() => undefined);
    await broker?.stop();
    node.remove();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
