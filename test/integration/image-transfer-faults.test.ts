/**
 * Broken peer image copies (issue 17, item 3). Two source agents run as real processes on engine A, which alone
 * has the image; the target agent runs on the second engine, its image staging directory on a small tmpfs. The
 * NFVO emulator launches on the target (a constraint only it satisfies), so the driver must copy the image. Faults:
 * the source is SIGKILLed mid-copy (the copy is retried from the other source), the target's staging disk is too
 * small (refused before the first chunk, the launch fails with the reason; a second attempt after space is freed
 * succeeds), and a chunk is corrupted on the source's disk mid-copy (the digest check fails, the target's import
 * is aborted, the launch fails with the reason; the second attempt succeeds). After each: no half image on the
 * target, neither staged nor loaded. The cases and what the driver said are printed.
 */
import { execFileSync, type ChildProcess } from "node:child_process";
import { mkdirSync, readdirSync, statSync, writeFileSync, rmSync } from "node:fs";
import { open } from "node:fs/promises";
import path from "node:path";
import type Docker from "dockerode";
import type { Agent } from "@openiotfog/edge-agent";
import { formatFogSpec } from "@openiotfog/vim-driver/openbaton/fog-spec";
import {
  DOCKER_B_SOCKET,
  MQTT_URL,
  TEST_IMAGE,
  containersOfNode,
  hasImage,
  removeContainersByLabel,
  removeNetworksByLabel,
  requireDocker,
  requireMqtt,
  requireSecondDocker,
  uniqueName,
  waitFor,
} from "../helpers/services";
import { PluginException } from "../nfvo-emulator";
import { startDriverHarness, type DriverHarness } from "../nfvo-emulator/harness";
import {
  REPO,
  exited,
  spawnAgent,
  startInProcess,
  testAgentSetup,
  type TestAgentSetup,
} from "./agent-helpers";

jest.setTimeout(180000);

/** Small chunks, so a 2 MB image takes hundreds of round trips and a fault lands in the middle of the copy. */
const CHUNK_BYTES = 4096;
const STAGING_MB = 4;

/** mount / umount: as root directly, else through sudo without a password (as scripts/setup.sh runs). */
function privileged(args: string[]): void {
  const [cmd, ...rest] = process.getuid?.() === 0 ? args : ["sudo", "-n", ...args];
  execFileSync(cmd!, rest, { stdio: "pipe" });
}

describe("broken peer image copies: source killed, target disk too small, corrupted chunk", () => {
  const prefix = uniqueName("iotfog-xfer");
  const image = `openiotfog/xfer-faults:${uniqueName("t").toLowerCase()}`;
  let engineA: Docker;
  let engineB: Docker;
  const sources: Array<{ setup: TestAgentSetup; child: ChildProcess | undefined }> = [];
  let targetSetup: TestAgentSetup;
  let target: Agent | undefined;
  let staging: string;
  let mounted = false;
  let h: DriverHarness;

  const transfersOf = (s: TestAgentSetup): string => path.join(s.config.dataDir, "transfers");
  const stagedImports = (): string[] => readdirSync(staging).filter((f) => f.endsWith(".import.tar"));

  async function launch(vnfrName: string): Promise<{ vcId: string } | PluginException> {
    return h.emulator
      .allocate(h.vim.name, {
        vnfrName,
        vmImage: image,
        connectionPoints: [
          {
            virtual_link_reference: "xfer-lan",
            metadata: { "iotfog.constraints": "node.labels.zone==hall-b" },
          },
        ],
        userdata: `#Hostname=\n${formatFogSpec({ command: ["sleep", "3600"] })}\n`,
      })
      .then(
        (vnfc) => ({ vcId: String(vnfc.vc_id) }),
        (e: unknown) => {
          if (e instanceof PluginException) return e;
          throw e;
        },
      );
  }

  /** The launch ran on the target with the copied image; then the VNFC and the image go, for the next case. */
  async function expectRunningThenReset(result: { vcId: string } | PluginException): Promise<void> {
    if (result instanceof PluginException) throw result;
    const onB = await containersOfNode(targetSetup.nodeId, engineB);
    expect(onB.map((c) => [c.Image, c.State])).toEqual([[image, "running"]]);
    expect((await engineB.getImage(image).inspect()).Id).toBe((await engineA.getImage(image).inspect()).Id);
    await h.emulator.release(h.vim.name, result.vcId);
    await waitFor(async () => (await containersOfNode(targetSetup.nodeId, engineB)).length === 0, {
      timeoutMs: 20000,
      what: "the VNFC's container removed from the target",
    });
    await engineB.getImage(image).remove();
  }

  /** No half image on the target: nothing staged, nothing loaded. */
  async function expectNoHalfImage(): Promise<void> {
    expect(stagedImports()).toEqual([]);
    expect(await hasImage(engineB, image)).toBe(false);
  }

  /** Waits until the target has staged part of an import, and returns its size then. */
  async function midCopy(): Promise<number> {
    return waitFor(
      () => {
        for (const f of stagedImports()) {
          const size = statSync(path.join(staging, f)).size;
          if (size > 0) return size;
        }
        return undefined;
      },
      { timeoutMs: 30000, intervalMs: 2, what: "the target staging the copy" },
    );
  }

  beforeAll(async () => {
    engineA = await requireDocker();
    engineB = await requireSecondDocker();
    await requireMqtt();
    try {
      execFileSync("npx", ["tsc", "-b"], { cwd: REPO, stdio: "pipe" });
    } catch (e) {
      throw new Error(
        `this test runs the built CLI; \`npx tsc -b\` failed:\n${String((e as { stdout?: Buffer }).stdout)}`,
      );
    }
    // An image of its own id (the NFVO launches by image id; the test image's id is on both engines).
    const maker = await engineA.createContainer({
      Image: TEST_IMAGE,
      Cmd: ["sh", "-c", `echo ${image} > /made-for`],
    });
    try {
      await maker.start();
      await maker.wait();
      await maker.commit({
        repo: image.slice(0, image.lastIndexOf(":")),
        tag: image.slice(image.lastIndexOf(":") + 1),
      });
    } finally {
      await maker.remove({ force: true });
    }
    const common = {
      mqtt: { url: MQTT_URL, topicPrefix: prefix },
      zmq: { maxAttachmentBytes: CHUNK_BYTES },
    };
    for (let i = 0; i < 2; i++) {
      const setup = await testAgentSetup({
        ...common,
        labels: { zone: "hall-a" },
        runtime: { pullMissingImages: false },
      });
      sources.push({ setup, child: spawnAgent(setup.configFile) });
    }
    targetSetup = await testAgentSetup({
      ...common,
      labels: { zone: "hall-b" },
      runtime: { docker: { socketPath: DOCKER_B_SOCKET }, pullMissingImages: false },
    });
    target = await startInProcess(targetSetup.config);
    // The target's staging directory on a small disk of its own (the agent keeps using the same path).
    staging = transfersOf(targetSetup);
    mkdirSync(staging, { recursive: true });
    try {
      privileged(["mount", "-t", "tmpfs", "-o", `size=${STAGING_MB}m`, "tmpfs", staging]);
      mounted = true;
    } catch (e) {
      throw new Error(
        `this test stages images on a ${STAGING_MB} MiB tmpfs and needs root or password-less sudo (mount): ${(e as Error).message}`,
      );
    }
    h = await startDriverHarness({ topicPrefix: prefix, driver: { launchTimeoutMs: 90000 } });
    // The sources (processes) must be in the fleet view before the VIM lists the image they hold.
    await h.waitForNodes(3, 30000);
    await h.emulator.registerVim(h.vim);
  });

  afterAll(async () => {
    await h?.emulator.call(h.vim, "deleteNetwork", ["iotfog-xfer-lan"], "Boolean").catch(() => undefined);
    await h?.close();
    await target?.lifecycle.stop();
    if (mounted) privileged(["umount", staging]);
    for (const s of sources) {
      if (s.child && s.child.exitCode === null && s.child.signalCode === null) {
        s.child.kill("SIGKILL");
        await exited(s.child);
      }
      await s.setup.cleanup();
    }
    if (targetSetup) {
      await removeContainersByLabel("org.openiotfog.node", targetSetup.nodeId, engineB);
      await removeNetworksByLabel("org.openiotfog.node", targetSetup.nodeId, engineB);
      await targetSetup.cleanup();
    }
    for (const engine of [engineA, engineB]) {
      if (engine !== undefined && (await hasImage(engine, image))) await engine.getImage(image).remove();
    }
  });

  it("the source is killed mid-copy: the half import is aborted and the copy is retried from the other source", async () => {
    await expectNoHalfImage();
    const started = Date.now();
    const launching = launch("killed-source");
    const stagedBytes = await midCopy();
    // The source is the agent with an export in progress; SIGKILL, no goodbye.
    const victim = await waitFor(
      () =>
        sources.find(
          (s) =>
            s.child !== undefined && readdirSync(transfersOf(s.setup)).some((f) => f.endsWith(".export.tar")),
        ),
      { intervalMs: 2, what: "the source with an export in progress" },
    );
    victim.child!.kill("SIGKILL");
    await exited(victim.child!);
    victim.child = undefined;
    const result = await launching;
    const retried = h.logs.find((l) => /image copy failed; trying the next source/.test(l.message));
    expect(retried).toBeDefined();
    await expectRunningThenReset(result);
    expect(stagedImports()).toEqual([]);
    console.log(
      `case source killed: ${victim.setup.nodeId} SIGKILLed with ${stagedBytes} bytes staged on the target; ` +
        `the copy was retried from the other source and the VNFC ran after ${Date.now() - started} ms`,
    );
  });

  it("the target's staging disk is too small: refused before the first chunk, then a second attempt succeeds", async () => {
    // Another process has filled the staging disk: less than the image's 2 MiB is left.
    const filler = path.join(staging, "filler");
    writeFileSync(filler, Buffer.alloc((STAGING_MB - 1) * 1024 * 1024 - 64 * 1024));
    const refused = await launch("disk-full");
    expect(refused).toBeInstanceOf(PluginException);
    const detail = (refused as PluginException).vimDriverException?.detailMessage ?? "";
    expect(detail).toMatch(/not enough disk space to stage the image: .* needed, .* free in /);
    await expectNoHalfImage();
    console.log(`case target disk too small: the launch failed with: ${detail}`);
    rmSync(filler);
    await expectRunningThenReset(await launch("disk-freed"));
    console.log("case target disk too small: after freeing space the second attempt ran");
  });

  it("a chunk is corrupted on the source's disk mid-copy: the digest check fails, nothing half stays, a retry succeeds", async () => {
    const [source] = sources.filter((s) => s.child !== undefined);
    const launching = launch("corrupted");
    await midCopy();
    // Bit rot in the source's export tarball, in a part not sent yet.
    const [exportFile] = readdirSync(transfersOf(source!.setup)).filter((f) => f.endsWith(".export.tar"));
    const file = await open(path.join(transfersOf(source!.setup), exportFile!), "r+");
    try {
      const { size } = await file.stat();
      await file.write(Buffer.alloc(16 * 1024, 0xa5), 0, 16 * 1024, size - 64 * 1024);
    } finally {
      await file.close();
    }
    const refused = await launching;
    expect(refused).toBeInstanceOf(PluginException);
    const detail = (refused as PluginException).vimDriverException?.detailMessage ?? "";
    expect(detail).toMatch(/could not be copied \(copy from .* failed: export of .* sha256 .* announced/);
    await expectNoHalfImage();
    console.log(`case corrupted chunk: the launch failed with: ${detail}`);
    await expectRunningThenReset(await launch("after-corruption"));
    console.log("case corrupted chunk: the second attempt ran");
  });
});
