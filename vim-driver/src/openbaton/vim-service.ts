import { IotFogError, type Logger } from "@openiotfog/shared";
import type { AgentPool } from "../fleet/agents";
import type { Orchestrator } from "../fleet/orchestrator";
import type { DriverConfig } from "../config";
import type {
  DeploymentFlavour,
  DockerImage,
  DockerNetwork,
  NetworkParam,
  Quota,
  Server,
  VimInstance,
} from "./catalogue";
import type { LiveFleet } from "./fleet/live-fleet";
import type { NodeCalls } from "./fleet/node-calls";
import { VnfcDeployments } from "./fleet/vnfc-deployments";
import { FogImages } from "./images";
import { VnfcLauncher } from "./launch";
import { configuredFlavour, toDeploymentFlavour } from "./launch-translation";
import type { LaunchRequest, VimOperations } from "./methods";
import { FogNetworks } from "./networks";
import type { PendingRemovals } from "./pending-removals";
import type { ReturningNodes } from "./returning-nodes";
import { FogServers } from "./servers";

type Obj = Record<string, unknown>;

const MIB = 1024 * 1024;

/**
 * The VIM operations behind the 29 Open Baton methods (methods.ts maps them), as a thin facade over one module per
 * concern: launch translation (launch-translation.ts, pure), the launch path (launch.ts), images (images.ts),
 * networks (networks.ts), servers (servers.ts: placed records, listServer, delete and owed removals), and the one
 * door into the fleet's deployments (fleet/vnfc-deployments.ts). Inventory comes from the live nodes of the shared
 * FleetView, agent calls go through the AgentPool, and launches through the fleet's deploy path, so Open Baton
 * VNFCs also appear in the fleet API and GUI.
 */
export class VimService implements VimOperations {
  private readonly images: FogImages;
  private readonly networks: FogNetworks;
  private readonly servers: FogServers;
  private readonly launcher: VnfcLauncher;

  constructor(
    private readonly config: DriverConfig,
    private readonly fleet: LiveFleet,
    agents: AgentPool,
    orchestrator: Orchestrator,
    logger: Logger,
  ) {
    const calls: NodeCalls = { fleet, agents, logger };
    const deployments = new VnfcDeployments(orchestrator, config.openbaton);
    this.images = new FogImages(calls, config.agents.imageTransferTimeoutMs);
    this.networks = new FogNetworks(calls, config.networks);
    this.servers = new FogServers(deployments, calls);
    orchestrator.reconciler.useNetworks((nodeId, spec) => this.networks.forReplica(nodeId, spec));
    this.launcher = new VnfcLauncher({
      config,
      calls,
      deployments,
      images: this.images,
      networks: this.networks,
      servers: this.servers,
    });
  }

  /** Removals owed to nodes that were offline or did not answer (tombstones, in the declared state). */
  get pendingRemovals(): PendingRemovals {
    return this.servers.pendingRemovals;
  }

  /** Pays them when the node is live again, and removes superseded VNFC copies (a component to run). */
  get returningNodes(): ReturningNodes {
    return this.servers.returningNodes;
  }

  // ---------------------------------------------------------------------------------------------- inventory

  async refresh(vim: VimInstance): Promise<Obj> {
    const [images, networks] = await Promise.all([this.images.list(), this.networks.list()]);
    // Echo everything the NFVO sent (id, hbVersion, projectId, type, name, location, metadata...).
    return { ...vim, images, networks };
  }

  async listImages(_vim?: VimInstance): Promise<DockerImage[]> {
    return this.images.list();
  }

  async listNetworks(_vim?: VimInstance): Promise<DockerNetwork[]> {
    return this.networks.list();
  }

  async listFlavors(_vim?: VimInstance): Promise<DeploymentFlavour[]> {
    return this.config.flavors.map(toDeploymentFlavour);
  }

  /** Real capacity of the live nodes: cores, RAM (MiB) and the per-node instance allowance. */
  async getQuota(vim: VimInstance): Promise<Quota> {
    const nodes = this.fleet.live();
    let cores = 0;
    let ram = 0;
    for (const n of nodes) {
      cores += Math.floor(n.capabilities.resources.cpu.cores);
      ram += Math.floor(n.capabilities.resources.memory.totalBytes / MIB);
    }
    return {
      tenant: vim.name ?? this.config.openbaton.name,
      cores,
      ram,
      instances: nodes.length * this.config.fleet.maxInstancesPerNode,
      // Containers have no floating IPs or key pairs; 0 is the honest figure (negative would mean unlimited).
      floatingIps: 0,
      keyPairs: 0,
    };
  }

  async getType(_vim: VimInstance): Promise<string> {
    return this.config.openbaton.type;
  }

  // ---------------------------------------------------------------------------------------------- servers

  async listServer(_vim: VimInstance): Promise<Server[]> {
    return this.servers.list();
  }

  /** One server as listServer shows it (also one the fleet placed again on another node); undefined: none. */
  async server(extId: string): Promise<Server | undefined> {
    return (await this.servers.list()).find((s) => s.extId === extId);
  }

  async launch(vim: VimInstance, req: LaunchRequest): Promise<Server> {
    return this.launcher.launch(vim, req);
  }

  async deleteServer(_vim: VimInstance, extId: string): Promise<boolean> {
    return this.servers.delete(extId);
  }

  async rebuildServer(_vim: VimInstance, serverId: string, imageId: string): Promise<Server> {
    throw new IotFogError(
      "UNSUPPORTED",
      `rebuildServer(${serverId}, ${imageId}): fog containers are replaced, not rebuilt; delete the VNFC and launch it again`,
    );
  }

  // ---------------------------------------------------------------------------------------------- networks

  async createNetwork(_vim: VimInstance, network: NetworkParam): Promise<DockerNetwork> {
    return this.networks.create(network);
  }

  async updateNetwork(_vim: VimInstance, network: NetworkParam): Promise<DockerNetwork> {
    return this.networks.get(network.extId ?? network.name);
  }

  async deleteNetwork(_vim: VimInstance, extId: string): Promise<boolean> {
    return this.networks.delete(extId);
  }

  async getNetworkById(_vim: VimInstance, id: string): Promise<DockerNetwork> {
    return this.networks.get(id);
  }

  async getSubnetsExtIds(_vim: VimInstance, networkExtId: string): Promise<string[]> {
    // A fog network has exactly one subnet, identified with the network itself.
    return [(await this.networks.get(networkExtId)).extId];
  }

  async createSubnet(): Promise<Obj> {
    throw new IotFogError(
      "UNSUPPORTED",
      "createSubnet: a fog network has one subnet, set by createNetwork (cidr)",
    );
  }

  async updateSubnet(): Promise<Obj> {
    throw new IotFogError("UNSUPPORTED", "updateSubnet: a fog network's subnet is fixed when it is created");
  }

  async deleteSubnet(_vim: VimInstance, subnetExtId: string): Promise<boolean> {
    throw new IotFogError("UNSUPPORTED", `deleteSubnet(${subnetExtId}): delete the network instead`);
  }

  // ---------------------------------------------------------------------------------------------- images

  async addImageFromUrl(_vim: VimInstance, image: Obj, url: string): Promise<Obj> {
    return this.images.addFromUrl(image, url);
  }

  async addImageFromBytes(_vim: VimInstance, image: Obj, tarball: Buffer): Promise<Obj> {
    return this.images.importEverywhere(tarball, image);
  }

  async copyImage(_vim: VimInstance, image: Obj, tarball: Buffer): Promise<Obj> {
    return this.images.importEverywhere(tarball, image);
  }

  async updateImage(_vim: VimInstance, image: Obj): Promise<Obj> {
    return this.images.update(image);
  }

  async deleteImage(_vim: VimInstance, image: Obj): Promise<boolean> {
    throw new IotFogError(
      "UNSUPPORTED",
      `deleteImage(${String(image.extId ?? image.name)}): images are removed by each node's operator, not over Open Baton`,
    );
  }

  // ---------------------------------------------------------------------------------------------- flavors

  async addFlavor(_vim: VimInstance, flavour: Obj): Promise<DeploymentFlavour> {
    return configuredFlavour(this.config.flavors, flavour, "addFlavor");
  }

  async updateFlavor(_vim: VimInstance, flavour: Obj): Promise<DeploymentFlavour> {
    return configuredFlavour(this.config.flavors, flavour, "updateFlavor");
  }

  async deleteFlavor(_vim: VimInstance, extId: string): Promise<boolean> {
    throw new IotFogError("UNSUPPORTED", `deleteFlavor(${extId}): flavors live in the driver configuration`);
  }
}
