/**
 * Image integrity in peer copy (issue 12 item 5), against a real agent on the tests' second Docker engine. A copy
 * says which image it must be (the id the source node reports, and the one tag); the target checks the staged
 * tarball before `docker load`. A poisoned tarball (another config, so another image, declaring the copied tag
 * or a tag the node already uses) is refused with IMAGE_REJECTED naming the field: nothing loaded, the existing
 * tag untouched, nothing left staged. The same poisoned tarball loaded straight into Docker does move a tag (the
 * attack is real); the genuine tarball with the same expectation loads.
 */
import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import { Readable } from "node:stream";
import path from "node:path";
import type Docker from "dockerode";
import { AgentClient, IotFogError, type ExpectedImage } from "@openiotfog/shared";
import type { Agent } from "@openiotfog/edge-agent";
import {
  DOCKER_B_SOCKET,
  TEST_IMAGE,
  hasImage,
  requireDocker,
  requireMqtt,
  requireSecondDocker,
  uniqueName,
} from "../helpers/services";
import { startInProcess, testAgentSetup, type TestAgentSetup } from "./agent-helpers";

jest.setTimeout(120000);

const sha256 = (b: Buffer | string): string => createHash("sha256").update(b).digest("hex");

async function loadInto(engine: Docker, tarball: Buffer): Promise<void> {
  const stream = await engine.loadImage(Readable.from(tarball), { quiet: true });
  await new Promise((resolve, reject) =>
    engine.modem.followProgress(stream, (err) => (err ? reject(err) : resolve(undefined))),
  );
}

async function saved(engine: Docker, ref: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of await engine.getImage(ref).get()) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/**
 * Another image with the same layers: the config gains an environment variable (so its digest, the image id,
 * changes), and the manifest declares `tags`. Docker loads it without complaint.
 */
function poisoned(
  genuine: Buffer,
  tags: string[],
  env: string | undefined = "POISONED=1",
): { tarball: Buffer; imageId: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), "iotfog-poison-"));
  try {
    writeFileSync(path.join(dir, "in.tar"), genuine);
    const root = path.join(dir, "root");
    execFileSync("mkdir", [root]);
    execFileSync("tar", ["-xf", path.join(dir, "in.tar"), "-C", root]);
    const [item] = JSON.parse(readFileSync(path.join(root, "manifest.json"), "utf8")) as Array<{
      Config: string;
      RepoTags: string[];
      Layers: string[];
    }>;
    const config = JSON.parse(readFileSync(path.join(root, item!.Config), "utf8")) as {
      config: { Env?: string[] };
    };
    if (env !== undefined) config.config.Env = [...(config.config.Env ?? []), env];
    // Unchanged, the config keeps its exact bytes (and so the genuine image id).
    const body =
      env === undefined ? readFileSync(path.join(root, item!.Config)) : Buffer.from(JSON.stringify(config));
    const hex = sha256(body);
    unlinkSync(path.join(root, item!.Config));
    writeFileSync(path.join(root, `${hex}.json`), body);
    writeFileSync(
      path.join(root, "manifest.json"),
      JSON.stringify([{ ...item, Config: `${hex}.json`, RepoTags: tags }]),
    );
    rmSync(path.join(root, "repositories"), { force: true });
    execFileSync("tar", ["-cf", path.join(dir, "out.tar"), "-C", root, ...readdirSync(root)]);
    return { tarball: readFileSync(path.join(dir, "out.tar")), imageId: `sha256:${hex}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("peer image copy: the target loads only the image the driver expects", () => {
  const unique = uniqueName("t").toLowerCase();
  const copied = `openiotfog/integrity-copy:${unique}`;
  const victim = `openiotfog/integrity-victim:${unique}`;
  const control = `openiotfog/integrity-control:${unique}`;
  let engineA: Docker;
  let engineB: Docker;
  let setup: TestAgentSetup;
  let agent: Agent;
  let client: AgentClient;
  let genuine: Buffer;
  let expectedId: string;
  let victimId: string;
  const created: string[] = [];

  const tagOn = async (engine: Docker, id: string, ref: string): Promise<void> => {
    const colon = ref.lastIndexOf(":");
    await engine.getImage(id).tag({ repo: ref.slice(0, colon), tag: ref.slice(colon + 1) });
  };
  const idOn = async (engine: Docker, ref: string): Promise<string | undefined> =>
    (await hasImage(engine, ref)) ? (await engine.getImage(ref).inspect()).Id : undefined;
  const staged = (): string[] =>
    readdirSync(path.join(setup.config.dataDir, "transfers")).filter((f) => f.endsWith(".tar"));

  async function importRefusal(tarball: Buffer, expect: ExpectedImage): Promise<unknown> {
    try {
      await client.importStream(tarball.length, sha256(tarball), (write) => write(tarball), expect);
    } catch (e) {
      if (e instanceof IotFogError) return { code: e.code, field: e.details?.field };
      throw e;
    }
    return "loaded";
  }

  beforeAll(async () => {
    engineA = await requireDocker();
    engineB = await requireSecondDocker();
    await requireMqtt();
    // The image to copy, under a tag of this run, on engine A (the "source" node's engine).
    await tagOn(engineA, TEST_IMAGE, copied);
    created.push(copied);
    genuine = await saved(engineA, copied);
    expectedId = (await engineA.getImage(copied).inspect()).Id;
    // A tag the target already uses, for an image of its own (neither the copied one nor a poisoned one).
    const own = poisoned(genuine, [victim], "OWN_IMAGE=1");
    await loadInto(engineB, own.tarball);
    created.push(victim);
    victimId = own.imageId;
    expect(await idOn(engineB, victim)).toBe(victimId);
    setup = await testAgentSetup({
      runtime: { docker: { socketPath: DOCKER_B_SOCKET }, pullMissingImages: false },
    });
    agent = await startInProcess(setup.config);
    client = new AgentClient({ endpoint: setup.endpoint, timeoutMs: 30000, retries: 0, curve: setup.curve });
  });

  afterAll(async () => {
    await client?.close();
    await agent?.lifecycle.stop();
    await setup?.cleanup();
    for (const engine of [engineA, engineB]) {
      for (const ref of [...created, control]) {
        if (engine !== undefined && (await hasImage(engine, ref))) await engine.getImage(ref).remove();
      }
    }
  });

  it("the poison is real: Docker itself loads it and moves the tag it declares", async () => {
    const poison = poisoned(genuine, [control]);
    expect(poison.imageId).not.toBe(expectedId);
    await loadInto(engineB, poison.tarball);
    expect(await idOn(engineB, control)).toBe(poison.imageId);
    await engineB.getImage(control).remove();
    expect(await hasImage(engineB, poison.imageId)).toBe(false);
  });

  it("another image under the copied tag is refused (Config): nothing loaded, nothing staged", async () => {
    const poison = poisoned(genuine, [copied]);
    expect(await importRefusal(poison.tarball, { imageId: expectedId, tag: copied })).toEqual({
      code: "IMAGE_REJECTED",
      field: "Config",
    });
    expect(await hasImage(engineB, copied)).toBe(false);
    expect(await hasImage(engineB, poison.imageId)).toBe(false);
    expect(staged()).toEqual([]);
  });

  it("a tarball declaring a tag the node already uses is refused (RepoTags): that tag is untouched", async () => {
    for (const [tags, env] of [
      [[victim], "POISONED=1"],
      [[copied, victim], "POISONED=1"],
      // The genuine image with one tag more: a copy moves only the tag it copies.
      [[copied, victim], undefined],
    ] as const) {
      const poison = poisoned(genuine, [...tags], env);
      expect(await importRefusal(poison.tarball, { imageId: expectedId, tag: copied })).toEqual({
        code: "IMAGE_REJECTED",
        field: "RepoTags",
      });
      expect(await idOn(engineB, victim)).toBe(victimId);
      expect(await hasImage(engineB, copied)).toBe(false);
      if (env !== undefined) expect(await hasImage(engineB, poison.imageId)).toBe(false);
    }
    expect(staged()).toEqual([]);
  });

  it("the genuine tarball with the same expectation loads under the copied tag", async () => {
    const result = await client.importStream(genuine.length, sha256(genuine), (write) => write(genuine), {
      imageId: expectedId,
      tag: copied,
    });
    expect(result.images).toEqual([copied]);
    expect(await idOn(engineB, copied)).toBe(expectedId);
    expect(await idOn(engineB, victim)).toBe(victimId);
    expect(staged()).toEqual([]);
  });
});
