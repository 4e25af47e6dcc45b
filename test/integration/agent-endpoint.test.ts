/**
 * The agent's command endpoint against the real Docker engine: deploy (labels, limits, env, device
 * passthrough, fixed IP), idempotency, stop/start/remove, logs, admission, malformed and oversized frames, and
 * an image imported over ZeroMQ and then run.
 */
import { createHash, randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Dealer } from "zeromq";
import {
  AgentClient,
  PROTOCOL_VERSION,
  curveClientOptions,
  type DeployParamsInput,
} from "@openiotfog/shared";
import type { Agent } from "@openiotfog/edge-agent";
import {
  TEST_IMAGE,
  docker,
  execInContainer,
  requireDocker,
  requireMqtt,
  uniqueName,
} from "../helpers/services";
import { passthroughTree, startInProcess, testAgentSetup, type TestAgentSetup } from "./agent-helpers";

jest.setTimeout(60000);

let setup: TestAgentSetup;
let agent: Agent;
let client: AgentClient;
let treeDir: string;

beforeAll(async () => {
  await requireMqtt();
  await requireDocker();
  treeDir = mkdtempSync(path.join(os.tmpdir(), "iotfog-passthrough-"));
  const roots = passthroughTree(treeDir);
  setup = await testAgentSetup({
    discovery: roots,
    zmq: { maxEnvelopeBytes: 64 * 1024, maxAttachmentBytes: 512 * 1024 },
    runtime: { pullMissingImages: false },
  });
  agent = await startInProcess(setup.config);
  client = new AgentClient({ endpoint: setup.endpoint, timeoutMs: 5000, retries: 1, curve: setup.curve });
});

afterAll(async () => {
  await client?.close();
  await agent?.lifecycle.stop();
  await setup?.cleanup();
  rmSync(treeDir, { recursive: true, force: true });
});

const sha256 = (b: Buffer): string => createHash("sha256").update(b).digest("hex");

const sleeper = (
  name: string,
  extra: Partial<DeployParamsInput["spec"]> = {},
): DeployParamsInput["spec"] => ({
  name,
  image: TEST_IMAGE,
  command: ["sleep", "3600"],
  restart: "unless-stopped",
  ...extra,
});

async function ourContainers(deploymentId?: string) {
  const labels = [`org.openiotfog.node=${setup.nodeId}`];
  if (deploymentId !== undefined) labels.push(`org.openiotfog.deployment=${deploymentId}`);
  return docker().listContainers({ all: true, filters: { label: labels } });
}

describe("agent command endpoint (in process, real Docker)", () => {
  it("answers ping and advertises the discovered ZigBee stick", async () => {
    const pong = await client.call("ping", {});
    expect(pong).toMatchObject({ nodeId: setup.nodeId, protocolVersion: PROTOCOL_VERSION });
    const caps = await client.call("capabilities", { refresh: true });
    expect(caps.devices).toEqual([
      expect.objectContaining({ class: "zigbee", path: "/dev/null", vendorId: "10c4" }),
    ]);
    expect(caps.protocols).toEqual(["mqtt", "zigbee"]);
    expect(caps.software.map((s) => s.name)).toContain("docker");
    expect(caps.labels).toEqual({ zone: "line-1" });
  });

  it("deploy creates one running container with our labels, limits, env, restart policy and the placed device", async () => {
    const deploymentId = uniqueName("dep");
    const result = await client.call("deploy", {
      deploymentId,
      spec: sleeper("zigbee-gw", {
        env: { LINE: "7" },
        resources: { cpus: 0.5, memoryBytes: 64 * 1024 * 1024 },
        devices: [{ class: "zigbee", containerPath: "/dev/zigbee" }],
      }),
    });
    expect(result).toMatchObject({
      created: true,
      deployment: { deploymentId, state: "running", desired: "running" },
    });
    expect(result.deployment.devices).toEqual([
      expect.objectContaining({ hostPath: "/dev/null", containerPath: "/dev/zigbee" }),
    ]);
    const info = await docker().getContainer(result.deployment.containerId!).inspect();
    expect(info.Config.Labels).toMatchObject({
      "org.openiotfog.node": setup.nodeId,
      "org.openiotfog.deployment": deploymentId,
      "org.openiotfog.service": "zigbee-gw",
    });
    expect(info.Config.Env).toContain("LINE=7");
    expect(info.HostConfig.NanoCpus).toBe(500_000_000);
    expect(info.HostConfig.Memory).toBe(64 * 1024 * 1024);
    expect(info.HostConfig.RestartPolicy?.Name).toBe("unless-stopped");
    expect(info.HostConfig.Devices).toEqual([
      { PathOnHost: "/dev/null", PathInContainer: "/dev/zigbee", CgroupPermissions: "rwm" },
    ]);
    expect(info.State.Running).toBe(true);
  });

  it("the same deployment id twice (concurrently, and again later) gives one container and the first result", async () => {
    const deploymentId = uniqueName("dep");
    const params = { deploymentId, spec: sleeper("idem") };
    const [a, b] = await Promise.all([client.call("deploy", params), client.call("deploy", params)]);
    const c = await client.call("deploy", params);
    expect(b).toEqual(a);
    expect(c).toEqual(a);
    expect(await ourContainers(deploymentId)).toHaveLength(1);
    // A retry of the very same request (same id) is answered from the first run too.
    const requestId = randomUUID();
    const r1 = await client.call("start", { deploymentId }, { requestId });
    const r2 = await client.call("start", { deploymentId }, { requestId });
    expect(r2).toEqual(r1);
    await expect(
      client.call("deploy", { deploymentId, spec: sleeper("idem", { env: { CHANGED: "1" } }) }),
    ).rejects.toMatchObject({ code: "CONFLICT" });
  });

  it("stop, start, logs and remove act on the container and keep the desired state", async () => {
    const deploymentId = uniqueName("dep");
    await client.call("deploy", {
      deploymentId,
      spec: sleeper("chatty", {
        command: ["sh", "-c", "echo hello-out; echo hello-err >&2; exec sleep 3600"],
      }),
    });
    const stopped = await client.call("stop", { deploymentId, timeoutSeconds: 0 });
    expect(stopped).toMatchObject({ desired: "stopped", state: "exited" });
    const started = await client.call("start", { deploymentId });
    expect(started).toMatchObject({ desired: "running", state: "running" });
    const logs = await client.call("logs", { deploymentId, tail: 10 });
    expect(logs.lines).toEqual(
      expect.arrayContaining([
        { stream: "stdout", line: "hello-out" },
        { stream: "stderr", line: "hello-err" },
      ]),
    );
    expect((await client.call("list", {})).deployments.map((d) => d.deploymentId)).toContain(deploymentId);
    await expect(client.call("remove", { deploymentId, timeoutSeconds: 0 })).resolves.toEqual({
      deploymentId,
      removed: true,
    });
    expect(await ourContainers(deploymentId)).toHaveLength(0);
    await expect(client.call("inspect", { deploymentId })).rejects.toMatchObject({ code: "NOT_FOUND" });
    await expect(client.call("remove", { deploymentId })).resolves.toEqual({ deploymentId, removed: false });
  });

  it("never touches a container without its node label, even with the same deployment id", async () => {
    const deploymentId = uniqueName("dep");
    const other = uniqueName("other-node");
    const foreign = await docker().createContainer({
      Image: TEST_IMAGE,
      Cmd: ["sleep", "3600"],
      Labels: { "org.openiotfog.node": other, "org.openiotfog.deployment": deploymentId },
    });
    try {
      await client.call("deploy", { deploymentId, spec: sleeper("mine") });
      await client.call("remove", { deploymentId, timeoutSeconds: 0 });
      expect((await foreign.inspect()).Config.Labels).toMatchObject({ "org.openiotfog.node": other });
      await expect(client.call("inspect", { deploymentId })).rejects.toMatchObject({ code: "NOT_FOUND" });
    } finally {
      await foreign.remove({ force: true });
    }
  });

  it("admission refuses what this node cannot run, with the placement engine's explanation", async () => {
    const deploymentId = uniqueName("dep");
    const err = await client
      .call("deploy", { deploymentId, spec: sleeper("cam", { devices: [{ class: "camera" }] }) })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "ADMISSION_REFUSED", message: expect.stringContaining("camera") });
    expect(await ourContainers(deploymentId)).toHaveLength(0);
    await expect(
      client.call("deploy", {
        deploymentId,
        spec: sleeper("missing", { image: "openiotfog/not-here:never" }),
      }),
    ).rejects.toMatchObject({ code: "IMAGE_NOT_FOUND" });
  });

  it("creates a network and runs a container on it with a fixed IP, network aliases, host name and DNS servers", async () => {
    const name = uniqueName("iotfog-net");
    const deploymentId = uniqueName("dep");
    try {
      const created = await client.call("networks.create", { name, subnet: "172.31.250.0/24" });
      expect(created).toMatchObject({
        created: true,
        network: { name, managed: true, subnet: "172.31.250.0/24" },
      });
      const res = await client.call("deploy", {
        deploymentId,
        spec: sleeper("fixed-ip", { hostname: "line7-gw", dns: ["10.213.0.53", "10.213.0.54"] }),
        networks: [{ name, ipv4Address: "172.31.250.10", aliases: ["gw", "gw.line7"] }],
      });
      const container = docker().getContainer(res.deployment.containerId!);
      const info = await container.inspect();
      expect(info.NetworkSettings.Networks[name]?.IPAddress).toBe("172.31.250.10");
      expect(info.NetworkSettings.Networks[name]?.Aliases).toEqual(
        expect.arrayContaining(["gw", "gw.line7"]),
      );
      expect(info.Config.Hostname).toBe("line7-gw");
      expect(info.HostConfig.Dns).toEqual(["10.213.0.53", "10.213.0.54"]);
      // What the workload sees: its host name, and its own aliases through the engine's DNS on that network.
      expect(await execInContainer(container, ["hostname"])).toEqual({ exitCode: 0, stdout: "line7-gw\n" });
      const lookup = await execInContainer(container, ["nslookup", "gw.line7", "127.0.0.11"]);
      expect(lookup.stdout).toContain("172.31.250.10");
      expect((await client.call("networks.list", {})).networks.map((n) => n.name)).toContain(name);
      await expect(client.call("networks.remove", { name: "bridge" })).rejects.toMatchObject({
        code: "CONFLICT",
      });
    } finally {
      await client.call("remove", { deploymentId, timeoutSeconds: 0 }).catch(() => undefined);
      await client.call("networks.remove", { name }).catch(() => undefined);
    }
    expect((await client.call("networks.list", {})).networks.map((n) => n.name)).not.toContain(name);
  });

  it("imports an image over ZeroMQ in chunks, runs it, and exports it back with the same bytes", async () => {
    const tag = `openiotfog/import-test:${uniqueName("t")}`;
    const [repo, version] = tag.split(":") as [string, string];
    const d = docker();
    await d.getImage(TEST_IMAGE).tag({ repo, tag: version });
    const stream = await d.getImage(tag).get();
    const chunks: Buffer[] = [];
    for await (const c of stream) chunks.push(c as Buffer);
    const tarball = Buffer.concat(chunks);
    await d.getImage(tag).remove();
    const deploymentId = uniqueName("dep");
    try {
      expect(tarball.length).toBeGreaterThan(512 * 1024); // more than one chunk at this agent's limit
      const imported = await client.importImage(tarball);
      expect(imported.images).toContain(tag);
      const res = await client.call("deploy", { deploymentId, spec: sleeper("imported", { image: tag }) });
      expect(res.deployment.state).toBe("running");
      expect((await client.call("images.list", {})).images.some((i) => i.tags.includes(tag))).toBe(true);
      const back: Buffer[] = [];
      const exported = await client.exportImage(tag, async (c) => void back.push(c));
      const exportedBytes = Buffer.concat(back);
      expect(exported.sizeBytes).toBe(exportedBytes.length);
      // The same bytes: the engine's save of an image is deterministic, so the digests of both tarballs agree.
      expect(sha256(exportedBytes)).toBe(sha256(tarball));
    } finally {
      await client.call("remove", { deploymentId, timeoutSeconds: 0 }).catch(() => undefined);
      await d
        .getImage(tag)
        .remove({ force: true })
        .catch(() => undefined);
    }
  });

  it("answers malformed, oversized, unknown and expired requests with error replies and keeps serving", async () => {
    // A raw socket with the fleet's keys: what reaches the request checks is an admitted client's frames.
    const raw = new Dealer({ linger: 0, ...curveClientOptions(setup.curve, setup.curve.serverKey) });
    raw.connect(setup.endpoint);
    const ask = async (
      frames: Buffer[],
    ): Promise<{ id: string; ok: boolean; error?: { code: string; message: string } }> => {
      await raw.send(frames);
      const [reply] = await raw.receive();
      return JSON.parse(reply!.toString());
    };
    const envelope = (over: Record<string, unknown> = {}): Buffer =>
      Buffer.from(
        JSON.stringify({ v: 1, id: "r1", deadline: Date.now() + 5000, command: "ping", params: {}, ...over }),
      );
    try {
      expect(await ask([Buffer.from("not json at all")])).toMatchObject({
        id: "",
        ok: false,
        error: { code: "PROTOCOL_ERROR" },
      });
      expect(await ask([envelope(), Buffer.alloc(1), Buffer.alloc(1)])).toMatchObject({
        ok: false,
        error: { code: "PROTOCOL_ERROR" },
      });
      expect(await ask([envelope({ v: 9 })])).toMatchObject({ id: "r1", error: { code: "PROTOCOL_ERROR" } });
      expect(
        await ask([envelope({ id: "r2", command: "deploy", params: { deploymentId: "x" } })]),
      ).toMatchObject({
        id: "r2",
        error: { code: "BAD_REQUEST", message: expect.stringContaining('field "spec"') },
      });
      expect(await ask([envelope({ id: "r3", command: "reboot" })])).toMatchObject({
        id: "r3",
        error: { code: "UNSUPPORTED" },
      });
      expect(await ask([envelope({ id: "r4", deadline: Date.now() - 60000 })])).toMatchObject({
        id: "r4",
        error: { code: "TIMEOUT" },
      });
      const huge = envelope({ id: "r5", params: { pad: "x".repeat(200 * 1024) } });
      expect(await ask([huge])).toMatchObject({
        id: "r5",
        error: { code: "BAD_REQUEST", message: expect.stringContaining("exceeds the limit") },
      });
      const chunk = envelope({
        id: "r6",
        command: "images.import.chunk",
        params: { transferId: "0000000000", offset: 0 },
      });
      expect(await ask([chunk, Buffer.alloc(600 * 1024)])).toMatchObject({
        id: "r6",
        error: { code: "BAD_REQUEST" },
      });
      expect(await ask([envelope({ id: "r7" })])).toMatchObject({ id: "r7", ok: true });
    } finally {
      raw.close();
    }
    await expect(client.call("ping", {})).resolves.toMatchObject({ nodeId: setup.nodeId });
  });

  it("a client aimed at a node that does not answer fails with UNAVAILABLE naming the endpoint", async () => {
    const silent = new AgentClient({
      endpoint: "tcp://127.0.0.1:9",
      timeoutMs: 300,
      retries: 1,
      retryDelayMs: 10,
    });
    try {
      await expect(silent.call("ping", {})).rejects.toMatchObject({
        code: "UNAVAILABLE",
        message: expect.stringContaining("tcp://127.0.0.1:9"),
      });
    } finally {
      await silent.close();
    }
  });
});
