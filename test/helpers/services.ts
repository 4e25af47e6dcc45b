/**
 * Shared helpers for integration and end-to-end tests: readiness of the real services, free ports, temporary
 * RabbitMQ vhosts, and cleanup of containers by label. A missing service fails the test with a message that
 * names it and how to start it; tests never skip.
 */
import net from "node:net";
import { randomBytes } from "node:crypto";
import { PassThrough } from "node:stream";
import amqp from "amqplib";
import mqtt from "mqtt";
import Docker from "dockerode";
import { nodeTopic } from "@openiotfog/shared";

export const TEST_IMAGE = "openiotfog/testbox:latest";
export const RABBIT_HOST = process.env.IOTFOG_TEST_RABBIT_HOST ?? "127.0.0.1";
export const RABBIT_PORT = Number(process.env.IOTFOG_TEST_RABBIT_PORT ?? 5672);
export const RABBIT_MGMT_URL = process.env.IOTFOG_TEST_RABBIT_MGMT ?? "http://127.0.0.1:15672";
export const RABBIT_ADMIN = { username: "guest", password: "guest" };
export const MQTT_URL = process.env.IOTFOG_TEST_MQTT_URL ?? "mqtt://127.0.0.1:1883";
const HOW_TO_START = "run `bash scripts/setup.sh` (it installs and starts Docker, RabbitMQ and Mosquitto)";

export class ServiceMissingError extends Error {
  constructor(service: string, detail: string) {
    super(`${service} is not available (${detail}); ${HOW_TO_START}`);
    this.name = "ServiceMissingError";
  }
}

/** Polls `check` until it returns a truthy value or the deadline passes. */
export async function waitFor<T>(
  check: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  opts: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 10000);
  let lastError: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() > deadline) {
      const why = lastError instanceof Error ? `: last error ${lastError.message}` : "";
      throw new Error(
        `timed out after ${opts.timeoutMs ?? 10000} ms waiting for ${opts.what ?? "condition"}${why}`,
      );
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 50));
  }
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(3).toString("hex")}`;
}

function authHeader(user: { username: string; password: string }): string {
  return `Basic ${Buffer.from(`${user.username}:${user.password}`).toString("base64")}`;
}

/** Calls the RabbitMQ management HTTP API as the admin user. */
export async function rabbitManagement(
  method: "GET" | "PUT" | "DELETE",
  path: string,
  body?: unknown,
): Promise<{ status: number; json: unknown }> {
  let res: Response;
  try {
    res = await fetch(`${RABBIT_MGMT_URL}${path}`, {
      method,
      headers: { authorization: authHeader(RABBIT_ADMIN), "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch (e) {
    throw new ServiceMissingError("RabbitMQ management API", `${RABBIT_MGMT_URL}: ${(e as Error).message}`);
  }
  const text = await res.text();
  let json: unknown = undefined;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = text;
  }
  return { status: res.status, json };
}

/** Fails with a clear message unless RabbitMQ answers AMQP and its management API. */
export async function requireRabbitMq(): Promise<void> {
  const mgmt = await rabbitManagement("GET", "/api/overview");
  if (mgmt.status !== 200) {
    throw new ServiceMissingError("RabbitMQ management API", `GET /api/overview answered ${mgmt.status}`);
  }
  try {
    const conn = await amqp.connect({
      hostname: RABBIT_HOST,
      port: RABBIT_PORT,
      username: RABBIT_ADMIN.username,
      password: RABBIT_ADMIN.password,
    });
    await conn.close();
  } catch (e) {
    throw new ServiceMissingError(
      "RabbitMQ",
      `amqp://${RABBIT_HOST}:${RABBIT_PORT}: ${(e as Error).message}`,
    );
  }
}

export interface TempVhost {
  vhost: string;
  /** AMQP URL for the admin user on this vhost. */
  url: string;
  delete(): Promise<void>;
}

/** A fresh vhost with full permissions for the admin user, so tests never see each other's queues. */
export async function createTempVhost(prefix = "iotfog-test"): Promise<TempVhost> {
  await requireRabbitMq();
  const vhost = uniqueName(prefix);
  const v = encodeURIComponent(vhost);
  const created = await rabbitManagement("PUT", `/api/vhosts/${v}`, {});
  if (created.status >= 300) throw new Error(`cannot create RabbitMQ vhost ${vhost}: HTTP ${created.status}`);
  const perm = await rabbitManagement("PUT", `/api/permissions/${v}/${RABBIT_ADMIN.username}`, {
    configure: ".*",
    write: ".*",
    read: ".*",
  });
  if (perm.status >= 300) throw new Error(`cannot grant permissions on ${vhost}: HTTP ${perm.status}`);
  return {
    vhost,
    url: `amqp://${RABBIT_ADMIN.username}:${RABBIT_ADMIN.password}@${RABBIT_HOST}:${RABBIT_PORT}/${v}`,
    delete: async () => {
      await rabbitManagement("DELETE", `/api/vhosts/${v}`);
    },
  };
}

export interface TempRabbitUser {
  username: string;
  password: string;
  /** AMQP URL for this user on the given vhost. */
  url: string;
  delete(): Promise<void>;
}

/** A RabbitMQ user with the given permissions on a vhost (by default everything), removed by `delete`. */
export async function createTempUser(
  vhost: string,
  permissions: { configure: string; write: string; read: string } = {
    configure: ".*",
    write: ".*",
    read: ".*",
  },
  prefix = "iotfog-user",
): Promise<TempRabbitUser> {
  const username = uniqueName(prefix);
  const password = randomBytes(12).toString("hex");
  const u = encodeURIComponent(username);
  const v = encodeURIComponent(vhost);
  const created = await rabbitManagement("PUT", `/api/users/${u}`, { password, tags: "" });
  if (created.status >= 300)
    throw new Error(`cannot create RabbitMQ user ${username}: HTTP ${created.status}`);
  const perm = await rabbitManagement("PUT", `/api/permissions/${v}/${u}`, permissions);
  if (perm.status >= 300) throw new Error(`cannot grant permissions to ${username}: HTTP ${perm.status}`);
  return {
    username,
    password,
    url: `amqp://${u}:${password}@${RABBIT_HOST}:${RABBIT_PORT}/${v}`,
    delete: async () => {
      await rabbitManagement("DELETE", `/api/users/${u}`);
    },
  };
}

/** Fails with a clear message unless an MQTT broker accepts a connection. */
export async function requireMqtt(url = MQTT_URL): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const client = mqtt.connect(url, { connectTimeout: 3000, reconnectPeriod: 0 });
    let settled = false;
    const fail = (detail: string): void => {
      if (settled) return;
      settled = true;
      client.end(true);
      reject(new ServiceMissingError("MQTT broker (Mosquitto)", `${url}: ${detail}`));
    };
    client.once("connect", () => {
      settled = true;
      client.end(true, {}, () => resolve());
    });
    client.once("error", (e) => fail(e.message));
    client.once("close", () => fail("connection closed"));
  });
}

export function docker(): Docker {
  return new Docker({ socketPath: process.env.DOCKER_SOCKET ?? "/var/run/docker.sock" });
}

/** Fails with a clear message unless the Docker engine answers and has the test image. */
export async function requireDocker(image = TEST_IMAGE): Promise<Docker> {
  const d = docker();
  try {
    await d.ping();
  } catch (e) {
    throw new ServiceMissingError("Docker engine", `/var/run/docker.sock: ${(e as Error).message}`);
  }
  try {
    await d.getImage(image).inspect();
  } catch {
    throw new ServiceMissingError(`Docker test image ${image}`, "not built");
  }
  return d;
}

/**
 * The second Docker engine that scripts/setup.sh starts for tests (its own image store, no networking), so a
 * second agent can be a node that lacks an image the first one has.
 */
export const DOCKER_B_SOCKET = process.env.IOTFOG_TEST_DOCKER_B_SOCKET ?? "/var/run/openiotfog-docker-b.sock";

export async function requireSecondDocker(image = TEST_IMAGE): Promise<Docker> {
  const d = new Docker({ socketPath: DOCKER_B_SOCKET });
  try {
    await d.ping();
  } catch (e) {
    throw new ServiceMissingError(
      "second Docker engine (tests)",
      `${DOCKER_B_SOCKET}: ${(e as Error).message}`,
    );
  }
  try {
    await d.getImage(image).inspect();
  } catch {
    throw new ServiceMissingError(`Docker test image ${image} on the second engine`, "not loaded");
  }
  return d;
}

/** Force-removes every container that carries `label=value` (what a test created), on `engine`. */
export async function removeContainersByLabel(
  label: string,
  value?: string,
  engine: Docker = docker(),
): Promise<number> {
  const d = engine;
  const filter = value === undefined ? label : `${label}=${value}`;
  const list = await d.listContainers({ all: true, filters: { label: [filter] } });
  await Promise.all(
    list.map((c) =>
      d
        .getContainer(c.Id)
        .remove({ force: true })
        .catch(() => undefined),
    ),
  );
  return list.length;
}

/**
 * Removes the networks carrying a label (the node label our per-node networks carry): Docker has few default
 * address pools, and every leaked network takes one from all later tests on the engine.
 */
export async function removeNetworksByLabel(
  label: string,
  value: string,
  engine: Docker = docker(),
): Promise<void> {
  const list = await engine.listNetworks({ filters: { label: [`${label}=${value}`] } });
  await Promise.all(
    list.map((n) =>
      engine
        .getNetwork(n.Id)
        .remove()
        .catch(() => undefined),
    ),
  );
}

/** The containers (running or not) of one node, by the node label every container we create carries. */
/** Runs `cmd` in a running container and returns its exit code and standard output (stderr dropped). */
export async function execInContainer(
  container: Docker.Container,
  cmd: string[],
): Promise<{ exitCode: number; stdout: string }> {
  const exec = await container.exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({ hijack: true, stdin: false });
  const chunks: Buffer[] = [];
  const stdout = new PassThrough();
  stdout.on("data", (c: Buffer) => chunks.push(c));
  // Without a TTY, Docker multiplexes stdout and stderr on one stream.
  container.modem.demuxStream(stream, stdout, new PassThrough().resume());
  await new Promise<void>((resolve, reject) => {
    stream.on("end", resolve);
    stream.on("close", resolve);
    stream.on("error", reject);
  });
  const { ExitCode } = await exec.inspect();
  return { exitCode: ExitCode ?? -1, stdout: Buffer.concat(chunks).toString("utf8") };
}

export function containersOfNode(nodeId: string, engine: Docker = docker()): Promise<Docker.ContainerInfo[]> {
  return engine.listContainers({ all: true, filters: { label: [`org.openiotfog.node=${nodeId}`] } });
}

/** Deletes the retained presence and capabilities that agents left under a topic prefix. */
export async function clearRetainedDiscovery(
  prefix: string,
  nodeIds: string[],
  url = MQTT_URL,
): Promise<void> {
  const client = await mqtt.connectAsync(url, { reconnectPeriod: 0 });
  for (const nodeId of nodeIds) {
    for (const kind of ["presence", "capabilities"] as const) {
      await client.publishAsync(nodeTopic(prefix, nodeId, kind), "", { retain: true, qos: 1 });
    }
  }
  await client.endAsync();
}

/** Whether an engine has an image under this reference. */
export async function hasImage(engine: Docker, reference: string): Promise<boolean> {
  return engine
    .getImage(reference)
    .inspect()
    .then(
      () => true,
      () => false,
    );
}
