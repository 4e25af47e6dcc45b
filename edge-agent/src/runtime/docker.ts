import { createReadStream, createWriteStream } from "node:fs";
import { pipeline } from "node:stream/promises";
// Must come before dockerode: defers its SSH and BuildKit parts (see defer-heavy.ts).
import "./defer-heavy";
import Docker from "dockerode";
import {
  IotFogError,
  errorMessage,
  deploymentStates,
  type DeploymentState,
  type ErrorCode,
  type Logger,
  type NetworkInfo,
} from "@openiotfog/shared";
import { usageFromDockerStats } from "./docker-usage";
import {
  NODE_LABEL,
  type ContainerRuntime,
  type ContainerUsage,
  type ContainerSpec,
  type ContainerStatus,
  type CreateNetworkOptions,
  type ImageSummary,
  type LogLine,
  type RuntimeInfo,
  type RuntimeVersion,
} from "./runtime";
import { ImagePlatformCache, type InspectedPlatform } from "./image-platforms";

export interface DockerRuntimeOptions {
  socketPath: string;
  nodeId: string;
  logger: Logger;
}

interface DockerApiError {
  statusCode?: number;
  code?: string;
  json?: { message?: string };
  message?: string;
}

/** Maps a dockerode failure to a typed error: the Engine API's HTTP status says what went wrong. */
export function dockerError(e: unknown, what: string): IotFogError {
  if (e instanceof IotFogError) return e;
  const err = (e ?? {}) as DockerApiError;
  const detail = err.json?.message ?? errorMessage(e);
  let code: ErrorCode = "RUNTIME_ERROR";
  if (err.code === "ECONNREFUSED" || err.code === "ENOENT" || err.code === "EACCES") code = "UNAVAILABLE";
  else if (err.statusCode === 404)
    code = /no such image|pull access denied|manifest unknown/i.test(detail)
      ? "IMAGE_NOT_FOUND"
      : "NOT_FOUND";
  else if (err.statusCode === 409) code = "CONFLICT";
  else if (err.statusCode === 400) code = "BAD_REQUEST";
  return new IotFogError(
    code,
    `${what}: ${detail.trim()}`,
    { runtime: "docker", status: err.statusCode },
    { cause: e },
  );
}

/** Docker's container states are ours, except `missing`, which only the agent can say. */
const STATES: ReadonlySet<string> = new Set(deploymentStates.filter((s) => s !== "missing"));

function toState(s: string | undefined): DeploymentState {
  return s !== undefined && STATES.has(s) ? (s as DeploymentState) : "dead";
}

/** Demultiplexes the Engine API's log stream (8-byte header per frame) for containers without a TTY. */
export function demuxLogs(buffer: Buffer): LogLine[] {
  const lines: LogLine[] = [];
  const push = (stream: LogLine["stream"], text: string): void => {
    for (const line of text.split("\n")) if (line !== "") lines.push({ stream, line });
  };
  let offset = 0;
  const framed = buffer.length >= 8 && (buffer[0] === 1 || buffer[0] === 2) && buffer[1] === 0;
  if (!framed) {
    push("stdout", buffer.toString("utf8"));
    return lines;
  }
  while (offset + 8 <= buffer.length) {
    const type = buffer[offset];
    const size = buffer.readUInt32BE(offset + 4);
    const body = buffer.subarray(offset + 8, offset + 8 + size).toString("utf8");
    push(type === 2 ? "stderr" : "stdout", body);
    offset += 8 + size;
  }
  return lines;
}

/**
 * The Docker plugin (dockerode over the Engine socket). Ownership is enforced here, not by callers: every
 * container operation first checks the container carries this node's label, and listings filter on it.
 */
export class DockerRuntime implements ContainerRuntime {
  readonly name = "docker";
  readonly nodeId: string;
  private readonly docker: Docker;
  private readonly logger: Logger;
  private readonly imagePlatforms = new ImagePlatformCache(async (id) => {
    try {
      return (await this.docker.getImage(id).inspect()) as InspectedPlatform;
    } catch (e) {
      if ((e as DockerApiError).statusCode === 404) return undefined;
      throw e;
    }
  });

  constructor(opts: DockerRuntimeOptions) {
    this.docker = new Docker({ socketPath: opts.socketPath });
    this.nodeId = opts.nodeId;
    this.logger = opts.logger;
  }

  async version(): Promise<RuntimeVersion> {
    try {
      const v = await this.docker.version();
      return { runtime: "docker", version: v.Version, apiVersion: v.ApiVersion };
    } catch (e) {
      throw dockerError(e, "docker version");
    }
  }

  async info(): Promise<RuntimeInfo> {
    try {
      const info = (await this.docker.info()) as { DockerRootDir?: string; Labels?: string[] | null };
      const labels: Record<string, string> = {};
      for (const l of info.Labels ?? []) {
        const eq = l.indexOf("=");
        if (eq < 0) labels[l] = "";
        else labels[l.slice(0, eq)] = l.slice(eq + 1);
      }
      return { dataRoot: info.DockerRootDir, labels };
    } catch (e) {
      throw dockerError(e, "docker info");
    }
  }

  async createContainer(spec: ContainerSpec): Promise<ContainerStatus> {
    const exposed: Record<string, object> = {};
    const bindings: Record<string, Array<{ HostPort: string }>> = {};
    for (const p of spec.ports) {
      const key = `${p.container}/${p.protocol}`;
      exposed[key] = {};
      if (p.host !== undefined) bindings[key] = [{ HostPort: String(p.host) }];
    }
    const [primary, ...extraNetworks] = spec.networks;
    const endpoint = (n: (typeof spec.networks)[number]): Docker.EndpointSettings => ({
      ...(n.ipv4Address !== undefined || n.ipv6Address !== undefined
        ? { IPAMConfig: { IPv4Address: n.ipv4Address, IPv6Address: n.ipv6Address } }
        : {}),
      ...(n.aliases !== undefined ? { Aliases: n.aliases } : {}),
    });
    const options: Docker.ContainerCreateOptions = {
      name: spec.name,
      Image: spec.image,
      Env: Object.entries(spec.env).map(([k, v]) => `${k}=${v}`),
      Labels: { ...spec.labels, [NODE_LABEL]: this.nodeId },
      ExposedPorts: exposed,
      HostConfig: {
        PortBindings: bindings,
        Binds: spec.volumes.map((v) => `${v.source}:${v.target}${v.readOnly ? ":ro" : ""}`),
        Devices: spec.devices.map((d) => ({
          PathOnHost: d.hostPath,
          PathInContainer: d.containerPath,
          CgroupPermissions: d.permissions ?? "rwm",
        })),
        RestartPolicy: { Name: spec.restart === "no" ? "" : spec.restart },
        ...(spec.cpus !== undefined ? { NanoCpus: Math.round(spec.cpus * 1e9) } : {}),
        ...(spec.memoryBytes !== undefined ? { Memory: spec.memoryBytes } : {}),
        ...(primary !== undefined ? { NetworkMode: primary.name } : {}),
        ...(spec.dns !== undefined && spec.dns.length > 0 ? { Dns: spec.dns } : {}),
      },
      ...(primary !== undefined
        ? { NetworkingConfig: { EndpointsConfig: { [primary.name]: endpoint(primary) } } }
        : {}),
    };
    if (spec.command !== undefined) options.Cmd = spec.command;
    if (spec.hostname !== undefined) options.Hostname = spec.hostname;
    let container: Docker.Container;
    try {
      container = await this.docker.createContainer(options);
    } catch (e) {
      throw dockerError(e, `create container ${spec.name} from ${spec.image}`);
    }
    try {
      for (const n of extraNetworks) {
        await this.docker
          .getNetwork(n.name)
          .connect({ Container: container.id, EndpointConfig: endpoint(n) });
      }
    } catch (e) {
      await container.remove({ force: true }).catch(() => undefined);
      throw dockerError(e, `attach container ${spec.name} to its networks`);
    }
    const status = await this.inspectContainer(container.id);
    if (status === undefined)
      throw new IotFogError("RUNTIME_ERROR", `container ${spec.name} vanished after create`);
    return status;
  }

  /** The container if it exists and is ours; throws NOT_FOUND otherwise. */
  private async owned(id: string): Promise<Docker.Container> {
    const status = await this.inspectContainer(id);
    if (status === undefined) {
      throw new IotFogError("NOT_FOUND", `no container ${id} managed by node ${this.nodeId}`);
    }
    return this.docker.getContainer(status.id);
  }

  async startContainer(id: string): Promise<void> {
    const c = await this.owned(id);
    try {
      await c.start();
    } catch (e) {
      // 304: already running; that is what the caller wants.
      if ((e as DockerApiError).statusCode !== 304) throw dockerError(e, `start container ${id}`);
    }
  }

  async stopContainer(id: string, timeoutSeconds: number): Promise<void> {
    const c = await this.owned(id);
    try {
      await c.stop({ t: timeoutSeconds });
    } catch (e) {
      if ((e as DockerApiError).statusCode !== 304) throw dockerError(e, `stop container ${id}`);
    }
  }

  async removeContainer(id: string): Promise<void> {
    const c = await this.owned(id);
    try {
      await c.remove({ force: true, v: true });
    } catch (e) {
      if ((e as DockerApiError).statusCode !== 404) throw dockerError(e, `remove container ${id}`);
    }
  }

  async inspectContainer(id: string): Promise<ContainerStatus | undefined> {
    let info: Docker.ContainerInspectInfo;
    try {
      info = await this.docker.getContainer(id).inspect();
    } catch (e) {
      if ((e as DockerApiError).statusCode === 404) return undefined;
      throw dockerError(e, `inspect container ${id}`);
    }
    const labels = info.Config.Labels ?? {};
    // Never report (and so never touch) a container another node or a human created.
    if (labels[NODE_LABEL] !== this.nodeId) return undefined;
    const status: ContainerStatus = {
      id: info.Id,
      name: info.Name.replace(/^\//, ""),
      image: info.Config.Image,
      state: toState(info.State.Status),
      labels,
    };
    if (info.State.Status === "exited" || info.State.Status === "dead") status.exitCode = info.State.ExitCode;
    if (info.State.StartedAt && !info.State.StartedAt.startsWith("0001-"))
      status.startedAt = info.State.StartedAt;
    return status;
  }

  async listContainers(labels: Record<string, string> = {}): Promise<ContainerStatus[]> {
    const filters = [`${NODE_LABEL}=${this.nodeId}`, ...Object.entries(labels).map(([k, v]) => `${k}=${v}`)];
    try {
      const list = await this.docker.listContainers({ all: true, filters: { label: filters } });
      return list.map((c) => ({
        id: c.Id,
        name: (c.Names[0] ?? c.Id).replace(/^\//, ""),
        image: c.Image,
        state: toState(c.State),
        labels: c.Labels,
      }));
    } catch (e) {
      throw dockerError(e, "list containers");
    }
  }

  async logs(id: string, opts: { tail: number; timestamps: boolean }): Promise<LogLine[]> {
    const c = await this.owned(id);
    try {
      const buffer = await c.logs({
        stdout: true,
        stderr: true,
        tail: opts.tail,
        timestamps: opts.timestamps,
        follow: false,
      });
      return demuxLogs(Buffer.isBuffer(buffer) ? buffer : Buffer.from(buffer as unknown as string));
    } catch (e) {
      throw dockerError(e, `logs of container ${id}`);
    }
  }

  async containerUsage(id: string, timeoutMs: number): Promise<ContainerUsage | undefined> {
    const c = this.docker.getContainer(id);
    const abortSignal = AbortSignal.timeout(timeoutMs);
    try {
      const info = await c.inspect({ abortSignal });
      if (info.Config.Labels?.[NODE_LABEL] !== this.nodeId) return undefined;
      // One reading, answered at once: without one-shot the engine waits a second for a second sample.
      // `_query` is what docker-modem puts in the URL (the signal stays out of it).
      const query = { stream: false, "one-shot": true };
      const stats = await c.stats({ stream: false, abortSignal, _query: query } as { stream: false });
      return usageFromDockerStats(stats, info.RestartCount);
    } catch (e) {
      if ((e as DockerApiError).statusCode === 404) return undefined;
      throw dockerError(e, `stats of container ${id}`);
    }
  }

  async listImages(): Promise<ImageSummary[]> {
    try {
      const list = await this.docker.listImages();
      const out: ImageSummary[] = [];
      for (const i of list) {
        const platform = await this.imagePlatforms.of(i.Id);
        out.push({
          id: i.Id,
          tags: (i.RepoTags ?? []).filter((t) => t !== "<none>:<none>"),
          sizeBytes: i.Size,
          createdAt: i.Created * 1000,
          ...(platform === undefined ? {} : { platform }),
        });
      }
      return out;
    } catch (e) {
      throw dockerError(e, "list images");
    }
  }

  async hasImage(ref: string): Promise<boolean> {
    try {
      await this.docker.getImage(ref).inspect();
      return true;
    } catch (e) {
      if ((e as DockerApiError).statusCode === 404) return false;
      throw dockerError(e, `inspect image ${ref}`);
    }
  }

  async loadImage(tarPath: string): Promise<string[]> {
    let stream: NodeJS.ReadableStream;
    try {
      stream = await this.docker.loadImage(createReadStream(tarPath), { quiet: true });
    } catch (e) {
      throw dockerError(e, "load image tarball");
    }
    const output = await this.followProgress(stream, "load image tarball");
    const images: string[] = [];
    for (const event of output) {
      const line = typeof event.stream === "string" ? event.stream : "";
      const m = /Loaded image(?: ID)?: (\S+)/.exec(line);
      if (m?.[1] !== undefined) images.push(m[1]);
    }
    if (images.length === 0)
      throw new IotFogError("BAD_REQUEST", "the tarball contained no image (is it a `docker save` archive?)");
    return images;
  }

  async pullImage(ref: string): Promise<{ image: string; id: string }> {
    let stream: NodeJS.ReadableStream;
    try {
      stream = await this.docker.pull(ref);
    } catch (e) {
      const err = dockerError(e, `pull ${ref}`);
      // A registry that cannot be reached is a node-local condition the caller may retry elsewhere.
      throw err.code === "RUNTIME_ERROR" ? new IotFogError("UNAVAILABLE", err.message, err.details) : err;
    }
    await this.followProgress(stream, `pull ${ref}`);
    try {
      const info = await this.docker.getImage(ref).inspect();
      return { image: ref, id: info.Id };
    } catch (e) {
      throw dockerError(e, `inspect pulled image ${ref}`);
    }
  }

  async saveImage(ref: string, tarPath: string): Promise<void> {
    if (!(await this.hasImage(ref)))
      throw new IotFogError("IMAGE_NOT_FOUND", `image ${ref} is not on node ${this.nodeId}`);
    try {
      const stream = await this.docker.getImage(ref).get();
      await pipeline(stream, createWriteStream(tarPath));
    } catch (e) {
      throw dockerError(e, `save image ${ref}`);
    }
  }

  private followProgress(
    stream: NodeJS.ReadableStream,
    what: string,
  ): Promise<Array<Record<string, unknown>>> {
    return new Promise((resolve, reject) => {
      this.docker.modem.followProgress(
        stream,
        (err: Error | null, output: Array<Record<string, unknown>>) => {
          if (err) return reject(dockerError(err, what));
          const failed = output.find((o) => o.error !== undefined || o.errorDetail !== undefined);
          if (failed !== undefined) {
            const message =
              typeof failed.error === "string" ? failed.error : JSON.stringify(failed.errorDetail);
            const code: ErrorCode = /not found|does not exist|manifest unknown|pull access denied/i.test(
              message,
            )
              ? "IMAGE_NOT_FOUND"
              : "RUNTIME_ERROR";
            return reject(new IotFogError(code, `${what}: ${message}`));
          }
          resolve(output);
        },
      );
    });
  }

  private toNetworkInfo(n: Docker.NetworkInspectInfo): NetworkInfo {
    const config = n.IPAM?.Config?.[0];
    const info: NetworkInfo = {
      id: n.Id,
      name: n.Name,
      driver: n.Driver,
      managed: n.Labels?.[NODE_LABEL] === this.nodeId,
    };
    if (config?.Subnet) info.subnet = config.Subnet;
    if (config?.Gateway) info.gateway = config.Gateway;
    return info;
  }

  async listNetworks(): Promise<NetworkInfo[]> {
    try {
      const list = await this.docker.listNetworks();
      return list.map((n) => this.toNetworkInfo(n));
    } catch (e) {
      throw dockerError(e, "list networks");
    }
  }

  async createNetwork(opts: CreateNetworkOptions): Promise<{ network: NetworkInfo; created: boolean }> {
    const existing = (await this.listNetworks()).find((n) => n.name === opts.name);
    if (existing !== undefined) {
      if (!existing.managed) {
        throw new IotFogError(
          "CONFLICT",
          `network ${opts.name} exists and is not managed by node ${this.nodeId}`,
        );
      }
      return { network: existing, created: false };
    }
    try {
      const ipam =
        opts.subnet !== undefined
          ? {
              IPAM: {
                Driver: "default",
                Config: [{ Subnet: opts.subnet, ...(opts.gateway ? { Gateway: opts.gateway } : {}) }],
              },
            }
          : {};
      const network = await this.docker.createNetwork({
        Name: opts.name,
        Driver: opts.driver,
        CheckDuplicate: true,
        Labels: { ...opts.labels, [NODE_LABEL]: this.nodeId },
        ...ipam,
      });
      const info = await network.inspect();
      this.logger.info("network created", { name: opts.name, subnet: opts.subnet });
      return { network: this.toNetworkInfo(info), created: true };
    } catch (e) {
      throw dockerError(e, `create network ${opts.name}`);
    }
  }

  async removeNetwork(name: string): Promise<boolean> {
    const existing = (await this.listNetworks()).find((n) => n.name === name || n.id === name);
    if (existing === undefined) return false;
    if (!existing.managed) {
      throw new IotFogError(
        "CONFLICT",
        `network ${name} is not managed by node ${this.nodeId}; refusing to remove it`,
      );
    }
    try {
      await this.docker.getNetwork(existing.id).remove();
      return true;
    } catch (e) {
      if ((e as DockerApiError).statusCode === 404) return false;
      throw dockerError(e, `remove network ${name}`);
    }
  }
}
