import { IotFogError, type NetworkInfo } from "@openiotfog/shared";
import {
  NODE_LABEL,
  type ContainerLogLine,
  type ContainerRuntime,
  type ContainerSpec,
  type ContainerStatus,
  type CreateNetworkOptions,
  type ImageSummary,
  type RuntimeInfo,
  type RuntimeVersion,
} from "../src/runtime/runtime";

/**
 * A container runtime held in memory, for fast tests of the agent's pure orchestration (DeploymentManager):
 * containers, images and networks in maps, labelled as the Docker plugin labels them, with every call counted.
 * Tests change its state "behind the agent's back" (a container removed, exited) through `containers`.
 */
export class MemoryRuntime implements ContainerRuntime {
  readonly name = "memory";
  readonly containers = new Map<string, ContainerStatus & { spec: ContainerSpec }>();
  readonly images = new Set<string>();
  readonly networks = new Map<string, NetworkInfo>();
  readonly calls: string[] = [];
  /** Set to make the next createContainer fail (an engine error). */
  failNextCreate: IotFogError | undefined;
  private seq = 0;

  constructor(
    readonly nodeId: string,
    images: string[] = [],
  ) {
    for (const i of images) this.images.add(i);
  }

  count(call: string): number {
    return this.calls.filter((c) => c === call).length;
  }

  async version(): Promise<RuntimeVersion> {
    return { runtime: "memory", version: "1" };
  }

  async info(): Promise<RuntimeInfo> {
    return { labels: {} };
  }

  async createContainer(spec: ContainerSpec): Promise<ContainerStatus> {
    this.calls.push("create");
    const failure = this.failNextCreate;
    this.failNextCreate = undefined;
    if (failure !== undefined) throw failure;
    if ([...this.containers.values()].some((c) => c.name === spec.name))
      throw new IotFogError("CONFLICT", `container name ${spec.name} is in use`);
    const id = `c${++this.seq}`;
    const status = {
      id,
      name: spec.name,
      image: spec.image,
      state: "created" as const,
      labels: { ...spec.labels, [NODE_LABEL]: this.nodeId },
      spec,
    };
    this.containers.set(id, status);
    return this.view(status);
  }

  private owned(id: string): ContainerStatus & { spec: ContainerSpec } {
    const c = this.containers.get(id);
    if (c === undefined || c.labels[NODE_LABEL] !== this.nodeId)
      throw new IotFogError("NOT_FOUND", `no container ${id} of node ${this.nodeId}`);
    return c;
  }

  async startContainer(id: string): Promise<void> {
    this.calls.push("start");
    const c = this.owned(id);
    c.state = "running";
    c.startedAt = new Date().toISOString();
  }

  async stopContainer(id: string): Promise<void> {
    this.calls.push("stop");
    const c = this.owned(id);
    c.state = "exited";
    c.exitCode = 0;
  }

  async removeContainer(id: string): Promise<void> {
    this.calls.push("remove");
    this.owned(id);
    this.containers.delete(id);
  }

  async inspectContainer(id: string): Promise<ContainerStatus | undefined> {
    const c = this.containers.get(id);
    return c === undefined || c.labels[NODE_LABEL] !== this.nodeId ? undefined : this.view(c);
  }

  async listContainers(labels: Record<string, string> = {}): Promise<ContainerStatus[]> {
    this.calls.push("list");
    return [...this.containers.values()]
      .filter((c) => c.labels[NODE_LABEL] === this.nodeId)
      .filter((c) => Object.entries(labels).every(([k, v]) => c.labels[k] === v))
      .map((c) => this.view(c));
  }

  async logs(): Promise<ContainerLogLine[]> {
    return [];
  }

  async listImages(): Promise<ImageSummary[]> {
    return [...this.images].map((ref) => ({ id: ref, tags: [ref], sizeBytes: 1, createdAt: 0 }));
  }

  async hasImage(ref: string): Promise<boolean> {
    return this.images.has(ref);
  }

  async loadImage(): Promise<string[]> {
    throw new IotFogError("UNSUPPORTED", "the memory runtime loads no tarballs");
  }

  async pullImage(ref: string): Promise<{ image: string; id: string }> {
    this.calls.push("pull");
    throw new IotFogError("UNAVAILABLE", `no registry to pull ${ref} from`);
  }

  async saveImage(): Promise<void> {
    throw new IotFogError("UNSUPPORTED", "the memory runtime saves no tarballs");
  }

  async imageId(ref: string): Promise<string | undefined> {
    return this.images.has(ref) ? ref : undefined;
  }

  async tagImage(id: string, ref: string): Promise<void> {
    if (!this.images.has(id)) throw new IotFogError("IMAGE_NOT_FOUND", `no image ${id}`);
    this.images.add(ref);
  }

  async removeImage(ref: string): Promise<void> {
    this.images.delete(ref);
  }

  async listNetworks(): Promise<NetworkInfo[]> {
    return [...this.networks.values()];
  }

  async createNetwork(opts: CreateNetworkOptions): Promise<{ network: NetworkInfo; created: boolean }> {
    const existing = this.networks.get(opts.name);
    if (existing !== undefined) return { network: existing, created: false };
    const network = { id: opts.name, name: opts.name, driver: opts.driver, managed: true };
    this.networks.set(opts.name, network);
    return { network, created: true };
  }

  async removeNetwork(name: string): Promise<boolean> {
    return this.networks.delete(name);
  }

  private view(c: ContainerStatus & { spec: ContainerSpec }): ContainerStatus {
    const { spec: _spec, ...status } = c;
    return { ...status, labels: { ...status.labels } };
  }
}
