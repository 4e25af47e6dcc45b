import {
  IotFogError,
  errorMessage,
  type DeploymentInfo,
  type DeviceAssignment,
  type Device,
} from "@openiotfog/shared";
import {
  DEPLOYMENT_LABEL,
  REPLICA_LABEL,
  SERVICE_LABEL,
  SPEC_HASH_LABEL,
  type ContainerRuntime,
  type ContainerSpec,
  type ContainerStatus,
} from "../runtime/runtime";
import type { SavedDeployment } from "../state/store";

/** The container a saved deployment record stands for, labelled so the agent finds it again after a restart. */
export function containerSpecOf(record: SavedDeployment): ContainerSpec {
  const { spec } = record;
  const out: ContainerSpec = {
    name: record.containerName,
    image: spec.image,
    env: spec.env,
    ports: spec.ports,
    volumes: spec.volumes,
    devices: record.devices.map((d) => ({ hostPath: d.hostPath, containerPath: d.containerPath })),
    restart: spec.restart,
    networks: record.networks ?? (spec.networks ?? []).map((name) => ({ name })),
    labels: {
      ...spec.labels,
      [DEPLOYMENT_LABEL]: record.deploymentId,
      [SERVICE_LABEL]: spec.name,
      [REPLICA_LABEL]: String(record.replica),
      [SPEC_HASH_LABEL]: record.fingerprint,
    },
  };
  if (spec.command !== undefined) out.command = spec.command;
  if (spec.hostname !== undefined) out.hostname = spec.hostname;
  if (spec.dns !== undefined) out.dns = spec.dns;
  if (spec.resources.cpus !== undefined) out.cpus = spec.resources.cpus;
  if (spec.resources.memoryBytes !== undefined) out.memoryBytes = spec.resources.memoryBytes;
  return out;
}

/** What the protocol reports for a deployment: its record joined with its container, if there is one. */
export function deploymentInfoOf(
  nodeId: string,
  record: SavedDeployment,
  container: ContainerStatus | undefined,
): DeploymentInfo {
  const info: DeploymentInfo = {
    deploymentId: record.deploymentId,
    nodeId,
    service: record.spec.name,
    replica: record.replica,
    image: record.spec.image,
    desired: record.desired,
    state: container?.state ?? "missing",
    containerName: record.containerName,
    devices: record.devices.map((d) => ({
      deviceId: d.device.id,
      hostPath: d.hostPath,
      containerPath: d.containerPath,
    })),
    createdAt: record.createdAt,
  };
  if (container !== undefined) info.containerId = container.id;
  if (container?.exitCode !== undefined) info.exitCode = container.exitCode;
  if (container?.startedAt !== undefined) info.startedAt = container.startedAt;
  return info;
}

/**
 * A device assignment pointed at where the device is now: the assigned host path while the device still has it
 * (its kernel path or its stable by-id path), else the device's stable path (a stick may return as another ttyUSB).
 */
export function repointAssignment(assignment: DeviceAssignment, now: Device): DeviceAssignment {
  const current = [now.path, now.stablePath].filter((p): p is string => p !== undefined);
  const hostPath = current.includes(assignment.hostPath) ? assignment.hostPath : (now.stablePath ?? now.path);
  return { ...assignment, device: now, hostPath };
}

/**
 * The container stage of a deployment: its image present, its container found by label, created, removed, and
 * reported. Knows nothing of desired state or locks; the DeploymentManager decides when each step runs.
 */
export class DeploymentContainers {
  constructor(
    private readonly nodeId: string,
    private readonly runtime: ContainerRuntime,
    private readonly pullMissingImages: boolean,
  ) {}

  async ensureImage(image: string): Promise<void> {
    if (await this.runtime.hasImage(image)) return;
    if (!this.pullMissingImages) {
      throw new IotFogError(
        "IMAGE_NOT_FOUND",
        `image ${image} is not on node ${this.nodeId}; import it with images.import`,
      );
    }
    try {
      await this.runtime.pullImage(image);
    } catch (e) {
      throw new IotFogError(
        "IMAGE_NOT_FOUND",
        `image ${image} is not on node ${this.nodeId} and could not be pulled (${errorMessage(e)}); import it with images.import`,
      );
    }
  }

  of(id: string): Promise<ContainerStatus[]> {
    return this.runtime.listContainers({ [DEPLOYMENT_LABEL]: id });
  }

  create(record: SavedDeployment): Promise<ContainerStatus> {
    return this.runtime.createContainer(containerSpecOf(record));
  }

  async ensure(record: SavedDeployment): Promise<ContainerStatus> {
    const [existing] = await this.of(record.deploymentId);
    return existing ?? this.create(record);
  }

  /** Stops (when running and a timeout is given) and removes every container of the deployment; returns how many. */
  async remove(id: string, timeoutSeconds: number): Promise<number> {
    const containers = await this.of(id);
    for (const c of containers) {
      if (c.state === "running" && timeoutSeconds > 0) await this.runtime.stopContainer(c.id, timeoutSeconds);
      await this.runtime.removeContainer(c.id);
    }
    return containers.length;
  }

  async info(record: SavedDeployment): Promise<DeploymentInfo> {
    const [listed] = await this.of(record.deploymentId);
    // Inspect for what listings leave out (exit code, start time).
    const container =
      listed === undefined ? undefined : ((await this.runtime.inspectContainer(listed.id)) ?? listed);
    return deploymentInfoOf(this.nodeId, record, container);
  }
}
