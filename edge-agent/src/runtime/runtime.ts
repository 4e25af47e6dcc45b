import type {
  DeploymentState,
  ImagePlatform,
  NetworkAttachment,
  NetworkInfo,
  PortMapping,
  RestartPolicy,
  VolumeMount,
} from "@openiotfog/shared";

/**
 * The runtime abstraction (the "virtualization abstraction layer"): what the agent needs from a container
 * engine. Docker is the first plugin; another engine registers under its own name (registry.ts) without the
 * orchestration code changing. Every implementation only ever touches containers carrying its node label.
 */
export const NODE_LABEL = "org.openiotfog.node";
export const DEPLOYMENT_LABEL = "org.openiotfog.deployment";
export const SERVICE_LABEL = "org.openiotfog.service";
export const REPLICA_LABEL = "org.openiotfog.replica";
/** Fingerprint of the deploy request that created the container (tells a stale container from a current one). */
export const SPEC_HASH_LABEL = "org.openiotfog.spec-hash";

export interface DeviceMapping {
  hostPath: string;
  containerPath: string;
  /** cgroup permissions: read, write, mknod. */
  permissions?: string;
}

export interface ContainerSpec {
  name: string;
  image: string;
  command?: string[];
  env: Record<string, string>;
  ports: PortMapping[];
  volumes: VolumeMount[];
  devices: DeviceMapping[];
  cpus?: number;
  memoryBytes?: number;
  restart: RestartPolicy;
  networks: NetworkAttachment[];
  labels: Record<string, string>;
  /** The container's host name; absent: the engine's default. */
  hostname?: string;
  /** DNS servers; absent or empty: the node's. */
  dns?: string[];
}

export interface ContainerStatus {
  id: string;
  name: string;
  image: string;
  state: DeploymentState;
  exitCode?: number;
  startedAt?: string;
  labels: Record<string, string>;
}

/** One line of a container's output (the driver's fleet LogLine adds the service, replica and node). */
export interface ContainerLogLine {
  stream: "stdout" | "stderr";
  line: string;
}

export interface ImageSummary {
  id: string;
  tags: string[];
  sizeBytes: number;
  createdAt: number;
  /** What the image was built for; undefined when the engine does not say. */
  platform?: ImagePlatform;
}

export interface CreateNetworkOptions {
  name: string;
  driver: string;
  subnet?: string;
  gateway?: string;
  labels: Record<string, string>;
}

export interface RuntimeVersion {
  runtime: string;
  version: string;
  apiVersion?: string;
}

/** One reading of a container's resource use (cumulative counters as the engine reports them). */
export interface ContainerUsage {
  /** CPU time used since the container started, seconds (all cores). */
  cpuSeconds: number;
  /** Working set: memory in use less the page cache the kernel can drop (what `docker stats` shows). */
  memoryBytes: number;
  /** The container's memory limit, or the host's memory when it has none. */
  memoryLimitBytes: number;
  /** Summed over the container's network interfaces; 0 for host networking. */
  networkReceiveBytes: number;
  networkTransmitBytes: number;
  /** Restarts by the engine's restart policy since the container was created. */
  restarts: number;
}

export interface RuntimeInfo {
  /** Where images and writable layers live (for the disk capability). */
  dataRoot?: string;
  labels: Record<string, string>;
}

export interface ContainerRuntime {
  readonly name: string;
  /** The node whose containers this runtime manages. */
  readonly nodeId: string;
  version(): Promise<RuntimeVersion>;
  info(): Promise<RuntimeInfo>;

  createContainer(spec: ContainerSpec): Promise<ContainerStatus>;
  startContainer(id: string): Promise<void>;
  stopContainer(id: string, timeoutSeconds: number): Promise<void>;
  removeContainer(id: string): Promise<void>;
  /** Undefined when there is no such container managed by this node. */
  inspectContainer(id: string): Promise<ContainerStatus | undefined>;
  /** Containers of this node, optionally narrowed by more labels. */
  listContainers(labels?: Record<string, string>): Promise<ContainerStatus[]>;
  logs(id: string, opts: { tail: number; timestamps: boolean }): Promise<ContainerLogLine[]>;
  /** One reading of a container's resource use; undefined when it is gone or not ours. Optional for plugins. */
  containerUsage?(id: string, timeoutMs: number): Promise<ContainerUsage | undefined>;

  listImages(): Promise<ImageSummary[]>;
  hasImage(ref: string): Promise<boolean>;
  /** Loads a `docker save` tarball; returns the image references it contained. */
  loadImage(tarPath: string): Promise<string[]>;
  pullImage(ref: string): Promise<{ image: string; id: string }>;
  /** Writes a `docker save` tarball of the image to `tarPath`. */
  saveImage(ref: string, tarPath: string): Promise<void>;
  /** The image id a reference resolves to, or undefined when the node has no such image. */
  imageId(ref: string): Promise<string | undefined>;
  tagImage(id: string, ref: string): Promise<void>;
  /** Removes a tag (the image too when nothing else holds it); absent already is not an error. */
  removeImage(ref: string): Promise<void>;

  listNetworks(): Promise<NetworkInfo[]>;
  createNetwork(opts: CreateNetworkOptions): Promise<{ network: NetworkInfo; created: boolean }>;
  removeNetwork(name: string): Promise<boolean>;
}
