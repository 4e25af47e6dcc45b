/**
 * The agent as a real process (`iotfog agent --config FILE`, built CLI) against Mosquitto and Docker:
 * presence and capabilities seen by an independent MQTT client, the last-will on SIGKILL, and offline-first
 * recovery: after a kill and restart, a surviving container is re-adopted, a removed one re-created, and one
 * stopped while the agent was down (what a host reboot leaves) started again and reported adopted.
 */
import { execFileSync, type ChildProcess } from "node:child_process";
import { AgentClient } from "@openiotfog/shared";
import { TEST_IMAGE, docker, requireDocker, requireMqtt, uniqueName, waitFor } from "../helpers/services";
import {
  DiscoveryWatcher,
  REPO,
  exited,
  spawnAgent,
  testAgentSetup,
  type TestAgentSetup,
} from "./agent-helpers";

jest.setTimeout(90000);

let setup: TestAgentSetup;
let watcher: DiscoveryWatcher;
let child: ChildProcess | undefined;

beforeAll(async () => {
  await requireMqtt();
  await requireDocker();
  try {
    execFileSync("npx", ["tsc", "-b"], { cwd: REPO, stdio: "pipe" });
  } catch (e) {
    const out = (e as { stdout?: Buffer }).stdout?.toString() ?? "";
    throw new Error(`this test runs the built CLI, and \`npx tsc -b\` failed:\n${out}`);
  }
  setup = await testAgentSetup({ fixture: "zigbee-stick" });
  watcher = await DiscoveryWatcher.start(setup.prefix);
});

afterAll(async () => {
  if (child && child.exitCode === null && child.signalCode === null) {
    child.kill("SIGKILL");
    await exited(child);
  }
  await watcher?.stop();
  await setup?.cleanup();
});

function containersOf(deploymentId: string) {
  return docker().listContainers({
    all: true,
    filters: { label: [`org.openiotfog.node=${setup.nodeId}`, `org.openiotfog.deployment=${deploymentId}`] },
  });
}

it("announces itself, survives SIGKILL with a last-will, and re-adopts / re-creates its containers on restart", async () => {
  const t0 = Date.now();
  child = spawnAgent(setup.configFile);

  // Presence (retained, with the command endpoint) and capabilities, as an independent client sees them.
  const online = await watcher.waitFor("presence", (m) => m.payload.state === "online", { since: t0 });
  expect(online.payload).toMatchObject({ nodeId: setup.nodeId, endpoint: setup.endpoint, reason: "startup" });
  const caps = await watcher.waitFor("capabilities", () => true, { since: t0 });
  expect(caps.payload.capabilities.devices.filter((d) => d.class === "zigbee")).toHaveLength(2);
  expect(caps.payload.capabilities.protocols).toEqual(
    expect.arrayContaining(["mqtt", "zigbee", "bluetooth"]),
  );
  const beat = await watcher.waitFor("heartbeat", () => true, { since: t0 });
  expect(beat.payload.resources.memory.totalBytes).toBeGreaterThan(0);

  // Two deployments through the ZeroMQ endpoint the presence message advertised.
  const client = new AgentClient({
    endpoint: online.payload.endpoint!,
    timeoutMs: 5000,
    retries: 2,
    curve: setup.curve,
  });
  const keep = uniqueName("keep");
  const lose = uniqueName("lose");
  const reboot = uniqueName("reboot");
  const spec = (name: string) => ({ name, image: TEST_IMAGE, command: ["sleep", "3600"] });
  let keptId: string;
  let rebootedId: string;
  try {
    keptId = (await client.call("deploy", { deploymentId: keep, spec: spec("kept") })).deployment
      .containerId!;
    await client.call("deploy", { deploymentId: lose, spec: spec("lost") });
    rebootedId = (await client.call("deploy", { deploymentId: reboot, spec: spec("rebooted") })).deployment
      .containerId!;
  } finally {
    await client.close();
  }

  // SIGKILL: no goodbye; the broker publishes the retained last-will after 1.5 x keepalive (1 s here).
  const killedAt = Date.now();
  child.kill("SIGKILL");
  await exited(child);
  const will = await watcher.waitFor("presence", (m) => m.payload.state === "offline", { since: killedAt });
  expect(will.payload).toMatchObject({ reason: "lost", sessionId: online.payload.sessionId });

  // While the agent is down, someone removes one of its containers; another one is stopped, as a host reboot
  // leaves it (`exited`, not removed).
  const [lost] = await containersOf(lose);
  await docker().getContainer(lost!.Id).remove({ force: true });
  await docker().getContainer(rebootedId!).stop({ t: 0 });
  expect((await containersOf(reboot)).map((c) => c.State)).toEqual(["exited"]);

  // Restart: nobody is asked; the agent works from its state file.
  const restartedAt = Date.now();
  child = spawnAgent(setup.configFile);
  const back = await watcher.waitFor("presence", (m) => m.payload.state === "online", { since: restartedAt });
  expect(back.payload.sessionId).not.toBe(online.payload.sessionId);
  const recreated = await waitFor(
    async () => {
      const [c] = await containersOf(lose);
      return c?.State === "running" ? c : undefined;
    },
    { timeoutMs: 15000, what: "the removed container to be re-created" },
  );
  expect(recreated.Id).not.toBe(lost!.Id);
  const kept = await containersOf(keep);
  expect(kept.map((c) => [c.Id, c.State])).toEqual([[keptId, "running"]]);
  // The stopped one is started again (the same container) and reported adopted, with the state it was found in.
  const adopted = await watcher.waitFor(
    "events",
    (m) => m.payload.type === "deployment.adopted" && m.payload.data.deploymentId === reboot,
    { since: restartedAt, what: "deployment.adopted for the container stopped while the agent was down" },
  );
  expect(adopted.payload.data.state).toBe("exited");
  const rebooted = await waitFor(
    async () => {
      const [c] = await containersOf(reboot);
      return c?.State === "running" ? c : undefined;
    },
    { timeoutMs: 15000, what: "the stopped container to run again" },
  );
  expect(rebooted.Id).toBe(rebootedId!);

  // A graceful stop says goodbye itself.
  const stoppedAt = Date.now();
  child.kill("SIGTERM");
  expect(await exited(child)).toBe(0);
  const bye = await watcher.waitFor("presence", (m) => m.payload.state === "offline", { since: stoppedAt });
  expect(bye.payload.reason).toBe("shutdown");
});
