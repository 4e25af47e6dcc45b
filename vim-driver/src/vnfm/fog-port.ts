import {
  IotFogError,
  errorMessage,
  isIotFogError,
  parseServerExtId,
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
import { amendFogSpec } from "../openbaton/fog-spec";
import type { LiveFleet } from "../openbaton/fleet/live-fleet";
import type { VimService } from "../openbaton/vim-service";
import type { Json } from "./messages";
import type { FogFault, FogPort, VnfcHandle, VnfcStatus } from "./ports";

/**
 * FogPort over the VIM driver's own parts: the same VimService that serves launchInstanceAndWait (so a VNFC
 * re-created with dependency values goes through the same placement, image copy and network path), the agent
 * pool for start / stop / inspect, and the live fleet for fault detection. Also watches the fleet: a node that
 * runs a VNFC going away, or a device a VNFC holds disappearing from its node, is reported as a FogFault.
 */

/** The node and agent deployment of a VNFC's vc_id (the driver's Server.extId); BAD_REQUEST for another id. */
export function splitExtId(vcId: string): { nodeId: string; deploymentId: string } {
  const ref = parseServerExtId(vcId);
  if (ref === undefined)
    throw new IotFogError("BAD_REQUEST", `"${vcId}" is not a fog server id (<node>:<deployment>)`);
  return { nodeId: ref.nodeId, deploymentId: ref.agentDeploymentId };
}

function stateOf(info: DeploymentInfo): VnfcStatus["state"] {
  if (info.state === "running") return "ACTIVE";
  if (info.state === "dead" || info.state === "missing") return "ERROR";
  return "INACTIVE";
}

interface Tracked {
  nodeId: string;
  deviceIds: string[];
  /** Whether a fault was reported and not yet cleared, so one loss is reported once. */
  faulted: boolean;
  /**
   * Adopted after a restart and not yet seen on a live node: the fleet view fills from MQTT in the first
   * seconds, so the node counts as lost only if it is still not live at `adoptDeadline`.
   */
  adopted?: true;
}

export class FleetFogPort implements FogPort {
  private readonly tracked = new Map<string, Tracked>();
  private readonly listeners = new Set<(fault: FogFault) => void>();
  private unsubscribe: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private adoptGraceMs = 0;
  /** Until when adopted VNFCs whose node is not live yet are not reported lost (epoch ms). */
  private adoptDeadline = 0;

  constructor(
    private readonly vim: VimService,
    private readonly fleet: LiveFleet,
    private readonly agents: AgentPool,
    private readonly logger: Logger,
    private readonly checkIntervalMs = 2000,
  ) {}

  /** The fault watch as a lifecycle component. */
  readonly watch: Component = {
    name: "vnfm-fault-watch",
    start: async () => {
      // The grace counts from the start of the watch (the fleet view starts filling then), not from adopt().
      this.adoptDeadline = Date.now() + this.adoptGraceMs;
      this.unsubscribe = this.fleet.onChange(() => this.check());
      // Expiry (a node that went silent) produces no message: look again on a timer as well.
      this.timer = setInterval(() => this.check(), this.checkIntervalMs);
    },
    stop: async () => {
      this.unsubscribe?.();
      if (this.timer) clearInterval(this.timer);
      this.timer = undefined;
    },
  };

  onFault(listener: (fault: FogFault) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private track(vcId: string, info: DeploymentInfo | undefined): void {
    const { nodeId } = splitExtId(vcId);
    this.tracked.set(vcId, {
      nodeId,
      deviceIds: info?.devices.map((d) => d.deviceId) ?? this.tracked.get(vcId)?.deviceIds ?? [],
      faulted: false,
    });
  }

  /**
   * Watches VNFCs again after a restart of this process (the VNFM's stored records name them). Each is confirmed
   * with its agent once its node is live: its devices are learnt then, and one its node no longer runs is dropped
   * (and logged). A node not live within `graceMs` is reported lost, as it would have been before the restart.
   */
  adopt(vcIds: string[], graceMs: number): void {
    this.adoptGraceMs = graceMs;
    this.adoptDeadline = Date.now() + graceMs;
    for (const vcId of vcIds) {
      if (this.tracked.has(vcId)) continue;
      let nodeId: string;
      try {
        nodeId = splitExtId(vcId).nodeId;
      } catch {
        continue;
      }
      this.tracked.set(vcId, { nodeId, deviceIds: [], faulted: false, adopted: true });
    }
    if (vcIds.length > 0) this.logger.info("watching VNFCs of stored records", { vnfcs: vcIds.length });
  }

  private confirmAdopted(vcId: string, t: Tracked): void {
    delete t.adopted;
    this.inspect(vcId).then(
      (info) => {
        if (this.tracked.get(vcId) === t) t.deviceIds = info.devices.map((d) => d.deviceId);
      },
      (e: unknown) => {
        if (isIotFogError(e) && e.code === "NOT_FOUND" && this.tracked.get(vcId) === t) {
          this.tracked.delete(vcId);
          this.logger.warn("a stored VNFC is not on its node any more; no longer watched", {
            vcId,
            nodeId: t.nodeId,
          });
        }
      },
    );
  }

  private check(): void {
    if (this.tracked.size === 0) return;
    const live = new Map(this.fleet.live().map((n) => [n.nodeId, n]));
    const lost = new Map<string, string[]>();
    const now = Date.now();
    for (const [vcId, t] of this.tracked) {
      if (t.faulted) continue;
      const node = live.get(t.nodeId);
      if (t.adopted) {
        if (node !== undefined) this.confirmAdopted(vcId, t);
        else if (now < this.adoptDeadline) continue;
      }
      if (node === undefined) {
        t.faulted = true;
        lost.set(t.nodeId, [...(lost.get(t.nodeId) ?? []), vcId]);
        continue;
      }
      const present = new Set(node.capabilities.devices.map((d) => d.id));
      const gone = t.deviceIds.filter((id) => !present.has(id));
      if (gone.length > 0) {
        t.faulted = true;
        this.emit({
          kind: "device-removed",
          nodeId: t.nodeId,
          vcIds: [vcId],
          detail: `device ${gone.join(", ")} is no longer on node ${t.nodeId}`,
        });
      }
    }
    for (const [nodeId, vcIds] of lost) {
      this.emit({
        kind: "node-lost",
        nodeId,
        vcIds,
        detail: `node ${nodeId} is offline (no presence or heartbeat)`,
      });
    }
  }

  private emit(fault: FogFault): void {
    this.logger.warn("fog fault under VNFCs", { kind: fault.kind, nodeId: fault.nodeId, vcIds: fault.vcIds });
    for (const l of this.listeners) {
      try {
        l(fault);
      } catch (e) {
        this.logger.warn("fog fault listener failed", { error: errorMessage(e) });
      }
    }
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
    this.track(vcId, info);
    return this.statusFrom(vcId, info);
  }

  async stop(vcId: string): Promise<VnfcStatus> {
    const { nodeId, deploymentId } = splitExtId(vcId);
    const info = await this.agents.client(nodeId).call("stop", { deploymentId, timeoutSeconds: 10 });
    return this.statusFrom(vcId, info);
  }

  async remove(vcId: string): Promise<void> {
    this.tracked.delete(vcId);
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
    const fog = amendFogSpec(vnfc.spec, env, pinNode === undefined ? [] : [`node.id==${pinNode}`]);
    // Free the node first: the old container holds its ports and exclusive devices.
    await this.vim.deleteServer(vim, vnfc.vcId);
    this.tracked.delete(vnfc.vcId);
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
    this.track(server.extId, info);
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
