// Must come before dockerode: defers its SSH and BuildKit parts (see defer-heavy.ts).
import "./defer-heavy";
import Docker from "dockerode";
import { IotFogError, type Logger, type NetworkInfo } from "@openiotfog/shared";
import { usageFromDockerStats } from "./docker-usage";
import {
  NODE_LABEL,
  type ContainerRuntime,
  type ContainerUsage,
  type ContainerSpec,
  type ContainerStatus,
  type CreateNetworkOptions,
  type ImageSummary,
  type ContainerLogLine,
  type RuntimeInfo,
  type RuntimeVersion,
} from "./runtime";
import { dockerError, demuxLogs, toState, type DockerApiError } from "./docker-api";
import { DockerImages } from "./docker-images";
import { DockerNetworks } from "./docker-networks";

export interface DockerRuntimeOptions {
  socketPath: string;
  nodeId: string;
  logger: Logger;
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
  private readonly images: DockerImages;
  private readonly networks: DockerNetworks;

  constructor(opts: DockerRuntimeOptions) {
    this.docker = new Docker({ socketPath: opts.socketPath });
    this.nodeId = opts.nodeId;
    this.logger = opts.logger;
    this.images = new DockerImages(this.docker, this.nodeId);
    this.networks = new DockerNetworks(this.docker, this.nodeId, this.logger);
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

  async logs(id: string, opts: { tail: number; timestamps: boolean }): Promise<ContainerLogLine[]> {
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

  listImages(): Promise<ImageSummary[]> {
    return this.images.list();
  }

  hasImage(ref: string): Promise<boolean> {
    return this.images.has(ref);
  }

  loadImage(tarPath: string): Promise<string[]> {
    return this.images.load(tarPath);
  }

  pullImage(ref: string): Promise<{ image: string; id: string }> {
    return this.images.pull(ref);
  }

  saveImage(ref: string, tarPath: string): Promise<void> {
    return this.images.save(ref, tarPath);
  }

  imageId(ref: string): Promise<string | undefined> {
    return this.images.idOf(ref);
  }

  tagImage(id: string, ref: string): Promise<void> {
    return this.images.tag(id, ref);
  }

  removeImage(ref: string): Promise<void> {
    return this.images.remove(ref);
  }

  listNetworks(): Promise<NetworkInfo[]> {
    return this.networks.list();
  }

  createNetwork(opts: CreateNetworkOptions): Promise<{ network: NetworkInfo; created: boolean }> {
    return this.networks.create(opts);
  }

  removeNetwork(name: string): Promise<boolean> {
    return this.networks.remove(name);
  }
}
