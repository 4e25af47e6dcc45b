import type {
  DeploymentInfo,
  DeviceAssignment,
  Logger,
  NetworkAttachment,
  ServiceSpec,
} from "@openiotfog/shared";
import type { AgentDirectory, NodeDirectory } from "./directories";
import { ImageDistribution } from "./images";
import type { DeployProgress } from "./types";

export interface ReplicaStarterOptions {
  fleet: NodeDirectory;
  agents: AgentDirectory;
  logger: Logger;
  deployTimeoutMs: number;
  imageTransferTimeoutMs: number;
  now: () => number;
}

/** One replica to run on the node placement chose. */
export interface ReplicaStart {
  nodeId: string;
  agentDeploymentId: string;
  spec: ServiceSpec;
  replica: number;
  devices: DeviceAssignment[];
}

/** Networks (with aliases) to attach a replica to on its node, made ready there; default `spec.networks`. */
export type NetworksFor = (nodeId: string, spec: ServiceSpec) => Promise<NetworkAttachment[]>;

/**
 * Starts one placed replica: its image onto the node (ImageDistribution), its networks ready, then the agent's
 * deploy (idempotent by agent deployment id, so asking again after a lost answer starts nothing twice).
 */
export class ReplicaStarter {
  private readonly images: ImageDistribution;

  constructor(private readonly opts: ReplicaStarterOptions) {
    this.images = new ImageDistribution(opts);
  }

  async start(
    r: ReplicaStart,
    progress: (p: DeployProgress) => void,
    networksFor?: NetworksFor,
  ): Promise<DeploymentInfo> {
    const who = { service: r.spec.name, replica: r.replica, nodeId: r.nodeId };
    await this.images.ensure({ ...who, image: r.spec.image }, progress);
    const networks = await networksFor?.(r.nodeId, r.spec);
    progress({ phase: "starting", ...who });
    const result = await this.opts.agents.client(r.nodeId).call(
      "deploy",
      {
        deploymentId: r.agentDeploymentId,
        spec: r.spec,
        replica: r.replica,
        devices: r.devices,
        ...(networks === undefined ? {} : { networks }),
      },
      { timeoutMs: this.opts.deployTimeoutMs, retries: 0 },
    );
    progress({
      phase: "started",
      ...who,
      containerName: result.deployment.containerName,
      state: result.deployment.state,
    });
    return result.deployment;
  }
}
