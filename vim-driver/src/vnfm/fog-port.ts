import {
  IotFogError,
  errorMessage,
  parseTermString,
  parseWith,
  type Component,
  type DeploymentInfo,
  type Logger,
} from "@openiotfog/shared";
import type { AgentPool } from "../fleet/agents";
import {
  connectionPointSchema,
  vimInstanceSchema,
  type Server,
  type VimInstance,
} from "../openbaton/catalogue";
import type { EventLog } from "../fleet/events";
import { amendFogSpec, type FogSpec } from "../openbaton/fog-spec";
import type { LiveFleet } from "../openbaton/fleet/live-fleet";
import type { VimService } from "../openbaton/vim-service";
import type { Json } from "./messages";
import type { FogFault, FogPort, VnfcHandle, VnfcMove, VnfcStatus } from "./ports";
import { splitExtId, stateOf } from "./vnfc-ids";
import { VnfcWatch } from "./vnfc-watch";

export { splitExtId } from "./vnfc-ids";

/**
 * FogPort over the VIM driver's own parts: the same VimService that serves launchInstanceAndWait (so a VNFC
 * re-created with dependency values goes through the same placement, image copy and network path), the agent
 * pool for start / stop / inspect, and the live fleet for fault detection. Also watches the fleet: a node that
 * runs a VNFC going away, or a device a VNFC holds disappearing from its node, is reported as a FogFault; a VNFC the
 * fleet placed again by itself as a VnfcMove (vnfc-watch.ts).
 */
export class FleetFogPort implements FogPort {
  private readonly watcher: VnfcWatch;

  constructor(
    private readonly vim: VimService,
    private readonly fleet: LiveFleet,
    private readonly agents: AgentPool,
    private readonly logger: Logger,
    checkIntervalMs = 2000,
    /** The fleet's event log: what the reconciler did to VNFCs by itself (`on_node_loss: replace`). */
    events?: Pick<EventLog, "subscribe">,
  ) {
    this.watcher = new VnfcWatch({
      fleet,
      inspect: (vcId) => this.inspect(vcId),
      server: (extId) => vim.server(extId),
      servers: () => vim.listServer(this.vimOf(undefined)),
      logger,
      checkIntervalMs,
      ...(events === undefined ? {} : { events }),
    });
  }

  /** The fault watch as a lifecycle component. */
  get watch(): Component {
    return this.watcher.component;
  }

  onFault(listener: (fault: FogFault) => void): () => void {
    return this.watcher.onFault(listener);
  }

  /** Called when the fleet placed a watched VNFC again on another node and it runs there. */
  onMove(listener: (move: VnfcMove) => void): () => void {
    return this.watcher.onMove(listener);
  }

  /** Watches VNFCs again after a restart of this process (vnfc-watch.ts). */
  adopt(vcIds: string[], graceMs: number): void {
    this.watcher.adopt(vcIds, graceMs);
  }

  private async inspect(vcId: string): Promise<DeploymentInfo> {
    const { nodeId, deploymentId } = splitExtId(vcId);
    return this.agents.client(nodeId).call("inspect", { deploymentId });
  }

  private statusFrom(vcId: string, info: DeploymentInfo): VnfcStatus {
    const state = stateOf(info);
    return {
      vcId,
      state,
      nodeId: info.nodeId,
      ...(state === "ACTIVE"
        ? {}
        : {
            detail: `container ${info.state}${info.exitCode === undefined ? "" : ` (exit code ${info.exitCode})`}`,
          }),
    };
  }

  async status(vcId: string): Promise<VnfcStatus> {
    const info = await this.inspect(vcId);
    return this.statusFrom(vcId, info);
  }

  async start(vcId: string): Promise<VnfcStatus> {
    const { nodeId, deploymentId } = splitExtId(vcId);
    const info = await this.agents.client(nodeId).call("start", { deploymentId });
    this.watcher.track(vcId, info);
    return this.statusFrom(vcId, info);
  }

  async stop(vcId: string): Promise<VnfcStatus> {
    const { nodeId, deploymentId } = splitExtId(vcId);
    const info = await this.agents.client(nodeId).call("stop", { deploymentId, timeoutSeconds: 10 });
    return this.statusFrom(vcId, info);
  }

  async remove(vcId: string): Promise<void> {
    this.watcher.untrack(vcId);
    await this.vim.deleteServer(this.vimOf(undefined), vcId);
  }

  private vimOf(vim: Json | undefined): VimInstance {
    return parseWith(
      vimInstanceSchema,
      vim ?? { type: "docker", name: "fog" },
      "VIM instance of a VNFC",
      "BAD_REQUEST",
    );
  }

  /** Launches the VNFC again through the driver's own path, with `env` added and optionally pinned to a node. */
  private async relaunch(
    vnfc: VnfcHandle,
    env: Record<string, string>,
    pinNode: string | undefined,
  ): Promise<Server> {
    const vim = this.vimOf(vnfc.vim);
    let image = vnfc.images[0] ?? "";
    try {
      image = (await this.inspect(vnfc.vcId)).image;
    } catch {
      // node gone: the VDU's image tag is what the NFVO launched it with
    }
    if (image === "")
      throw new IotFogError("BAD_REQUEST", `VNFC ${vnfc.hostname}: no image known to launch it again`);
    const fog = pinnedTo(amendFogSpec(vnfc.spec, env, []), pinNode);
    // Free the node first: the old container holds its ports and exclusive devices.
    await this.vim.deleteServer(vim, vnfc.vcId);
    this.watcher.untrack(vnfc.vcId);
    const networks = vnfc.networks.map((cp, i) =>
      parseWith(connectionPointSchema, cp, `VNFC ${vnfc.hostname} connection point ${i + 1}`, "BAD_REQUEST"),
    );
    const floatingIps: Record<string, string> = {};
    for (const cp of networks)
      if (typeof cp.floatingIp === "string") floatingIps[cp.virtual_link_reference] = cp.floatingIp;
    return this.vim.launch(vim, {
      hostname: vnfc.hostname,
      image,
      flavor: "",
      keyPair: "",
      networks,
      securityGroups: [],
      fog,
      floatingIps,
      keys: [],
      wait: true,
    });
  }

  private async afterLaunch(server: Server): Promise<VnfcStatus> {
    let info: DeploymentInfo | undefined;
    try {
      info = await this.inspect(server.extId);
    } catch {
      info = undefined;
    }
    this.watcher.track(server.extId, info);
    return {
      vcId: server.extId,
      state: server.status === "ACTIVE" ? "ACTIVE" : server.status === "ERROR" ? "ERROR" : "INACTIVE",
      nodeId: server.hypervisorHostName,
    };
  }

  async applyEnv(vnfc: VnfcHandle, env: Record<string, string>): Promise<VnfcStatus> {
    const { nodeId } = splitExtId(vnfc.vcId);
    const server = await this.relaunch(vnfc, env, nodeId);
    this.logger.info("VNFC re-created with dependency values", {
      hostname: vnfc.hostname,
      from: vnfc.vcId,
      to: server.extId,
    });
    return this.afterLaunch(server);
  }

  async heal(vnfc: VnfcHandle, env: Record<string, string>): Promise<VnfcStatus> {
    const { nodeId } = splitExtId(vnfc.vcId);
    if (this.fleet.liveNode(nodeId) !== undefined) {
      try {
        const status = await this.start(vnfc.vcId);
        if (status.state === "ACTIVE") return status;
      } catch (e) {
        this.logger.info("restart in place failed, placing the VNFC again", {
          vcId: vnfc.vcId,
          error: errorMessage(e),
        });
      }
    }
    // The node is gone (or the container cannot run there): place it again anywhere its spec allows.
    return this.afterLaunch(await this.relaunch(vnfc, env, undefined));
  }
}

/**
 * A relaunch on the VNFC's own node (dependency values): a constraint, except for a VNFC the fleet may move when its
 * node is lost (`onNodeLoss: replace`), where a declared `node.id` constraint would keep it from ever leaving; that
 * one gets the strongest preference for its node instead.
 */
function pinnedTo(spec: FogSpec, nodeId: string | undefined): FogSpec {
  if (nodeId === undefined) return spec;
  if (spec.onNodeLoss !== "replace")
    return { ...spec, constraints: [...spec.constraints, `node.id==${nodeId}`] };
  return { ...spec, preferences: [{ term: parseTermString(`node.id==${nodeId}`), weight: 100 }] };
}
