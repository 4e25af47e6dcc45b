/**
 * The edge agent on a Raspberry Pi's architecture (arm64), emulated: the real agent process under
 * qemu-aarch64-static and Node 20 for linux-arm64 (test/helpers/arm64.ts), against the real Mosquitto and the real
 * Docker engine. It must report arm64, announce itself, load zeromq's linux-arm64 prebuild (checked in the
 * process's mapped files) and accept a deploy over ZeroMQ whose container runs.
 *
 * What this machine cannot show: the engine is x86_64 and has no binfmt_misc, so the container is an amd64 one
 * ($TEST_IMAGE), deployed straight to the agent (the driver would keep an amd64 image off an arm64 node: see
 * mixed-fleet.test.ts). On a Pi the same agent drives an arm64 engine. Start-up under emulation takes ~10-20 s here;
 * the test prints the times.
 */
import { execFileSync, type ChildProcess } from "node:child_process";
import { AgentClient } from "@openiotfog/shared";
import { ARM64_ZEROMQ_ADDON, mappedFiles, requireArm64, spawnArm64Agent } from "../helpers/arm64";
import { stopProcess } from "../helpers/processes";
import { TEST_IMAGE, docker, requireDocker, requireMqtt, uniqueName, waitFor } from "../helpers/services";
import { DiscoveryWatcher, REPO, testAgentSetup, type TestAgentSetup } from "./agent-helpers";

jest.setTimeout(180000);

let setup: TestAgentSetup;
let watcher: DiscoveryWatcher;
let child: ChildProcess | undefined;

beforeAll(async () => {
  await requireMqtt();
  await requireDocker();
  requireArm64();
  try {
    execFileSync("npx", ["tsc", "-b"], { cwd: REPO, stdio: "pipe" });
  } catch (e) {
    const out = (e as { stdout?: Buffer }).stdout?.toString() ?? "";
    throw new Error(`this test runs the built agent, and \`npx tsc -b\` failed:\n${out}`);
  }
  setup = await testAgentSetup();
  watcher = await DiscoveryWatcher.start(setup.prefix);
});

afterAll(async () => {
  if (child) await stopProcess(child);
  await watcher?.stop();
  await setup?.cleanup();
});

it("runs as arm64 under emulation: capabilities say arm64, it announces itself and runs a container deployed over ZeroMQ", async () => {
  const t0 = Date.now();
  child = spawnArm64Agent(setup.configFile);
  const online = await watcher.waitFor("presence", (m) => m.payload.state === "online", {
    since: t0,
    timeoutMs: 90000,
    what: "the arm64 agent's presence",
  });
  const announcedMs = Date.now() - t0;
  expect(online.payload).toMatchObject({ nodeId: setup.nodeId, endpoint: setup.endpoint, reason: "startup" });
  const caps = (await watcher.waitFor("capabilities", () => true, { since: t0, timeoutMs: 30000 })).payload
    .capabilities;
  console.log(
    `emulated arm64 agent announced itself after ${announcedMs} ms; its capabilities:\n${JSON.stringify(caps, null, 2)}`,
  );
  expect(caps.platform).toMatchObject({ arch: "arm64", os: "linux" });
  expect(caps.nodeId).toBe(setup.nodeId);

  // The process is qemu running the arm64 Node, with zeromq's linux-arm64 addon mapped (not an x86_64 build).
  const mapped = mappedFiles(child.pid!);
  expect(mapped).toContain(ARM64_ZEROMQ_ADDON);
  expect(mapped.some((f) => f.includes("/build/linux/x64/"))).toBe(false);

  const client = new AgentClient({
    endpoint: online.payload.endpoint!,
    timeoutMs: 30000,
    retries: 1,
    curve: setup.curve,
  });
  const deploymentId = uniqueName("arm64");
  const d0 = Date.now();
  try {
    // Its own images come with their platforms: the engine's $TEST_IMAGE is linux/amd64.
    const { images } = await client.call("images.list", {});
    expect(images.find((i) => i.tags.includes(TEST_IMAGE))?.platform).toEqual({
      os: "linux",
      architecture: "amd64",
    });

    const { deployment } = await client.call("deploy", {
      deploymentId,
      spec: { name: "arm64-sleeper", image: TEST_IMAGE, command: ["sleep", "3600"] },
    });
    expect(deployment.containerId).toBeDefined();
    await waitFor(
      async () => (await docker().getContainer(deployment.containerId!).inspect()).State.Running,
      { timeoutMs: 30000, what: "the container the arm64 agent started" },
    );
    const inspected = await docker().getContainer(deployment.containerId!).inspect();
    expect(inspected.Config.Labels).toMatchObject({
      "org.openiotfog.node": setup.nodeId,
      "org.openiotfog.deployment": deploymentId,
    });
    console.log(`emulated arm64 agent: deploy over ZeroMQ to a running container in ${Date.now() - d0} ms`);
    await client.call("remove", { deploymentId });
  } finally {
    await client.close();
  }
});
