import { deploymentOfAgentId, errorMessage, parseServerExtId, serverExtId } from "@openiotfog/shared";
import type { DeploymentFlavour, Server } from "./catalogue";
import { serverStatus } from "./catalogue";
import { nodeAddress } from "./fleet/live-fleet";
import type { NodeCalls } from "./fleet/node-calls";
import type { VnfcDeployments } from "./fleet/vnfc-deployments";
import { PendingRemovals } from "./pending-removals";
import { ReturningNodes } from "./returning-nodes";

/** What the driver remembers of a server it launched (hostname and virtual links are not on the agent). */
export interface PlacedServer {
  hostname: string;
  image: { extId: string; name: string };
  flavor: DeploymentFlavour;
  virtualLinks: string[];
  floatingLinks: string[];
  /** Where other fog nodes reach it (nodeAddress of its node at launch). */
  address: string;
  created: string;
}

/** What a Server is made of: a fleet replica record, or an agent's deployment info. */
export interface ServerSource {
  nodeId: string;
  agentDeploymentId: string;
  service: string;
  image: string;
  state: string;
  containerName?: string | undefined;
}

/**
 * The servers (VNFCs) this driver placed: what it remembers of each launch, the Open Baton view of them
 * (listServer), and their removal, including removals owed to nodes that were offline (tombstones, paid by
 * ReturningNodes when the node is live again).
 */
export class FogServers {
  private readonly placed = new Map<string, PlacedServer>();
  /** Removals owed to nodes that were offline or did not answer (tombstones, in the declared state). */
  readonly pendingRemovals: PendingRemovals;
  /** Pays them when the node is live again, and removes superseded VNFC copies (a component to run). */
  readonly returningNodes: ReturningNodes;

  constructor(
    private readonly deployments: VnfcDeployments,
    private readonly calls: NodeCalls,
  ) {
    this.pendingRemovals = new PendingRemovals(deployments.tombstones);
    this.returningNodes = new ReturningNodes({
      fleet: calls.fleet,
      agent: (nodeId) => calls.agents.client(nodeId),
      pending: this.pendingRemovals,
      isOurs: (id) => deployments.isOurs(id),
      ownLaunches: () => deployments.ownLaunches(),
      forget: (id) => this.forget(id),
      logger: calls.logger,
    });
  }

  /**
   * What was remembered of a server the fleet's reconciler placed again on another node (same agent deployment
   * id, `on_node_loss: replace`), now kept under its new extId with the new node's address.
   */
  private movedTo(nodeId: string, agentDeploymentId: string): PlacedServer | undefined {
    for (const [extId, server] of this.placed) {
      const ref = parseServerExtId(extId);
      if (ref?.agentDeploymentId !== agentDeploymentId || ref.nodeId === nodeId) continue;
      const node = this.calls.fleet.liveNode(nodeId);
      const moved = { ...server, address: node ? nodeAddress(node) : nodeId };
      this.placed.delete(extId);
      this.placed.set(serverExtId(nodeId, agentDeploymentId), moved);
      return moved;
    }
    return undefined;
  }

  /** Remembers what the NFVO asked for a server the launch path just placed. */
  remember(extId: string, server: PlacedServer): void {
    this.placed.set(extId, server);
  }

  toServer(r: ServerSource, status = serverStatus(r.state)): Server {
    const extId = serverExtId(r.nodeId, r.agentDeploymentId);
    const known = this.placed.get(extId) ?? this.movedTo(r.nodeId, r.agentDeploymentId);
    const ips: Record<string, string[]> = {};
    const floatingIps: Record<string, string> = {};
    if (known) {
      for (const vl of known.virtualLinks) ips[vl] = [known.address];
      for (const vl of known.floatingLinks) floatingIps[vl] = known.address;
    }
    const hostname = known?.hostname ?? r.service;
    return {
      name: hostname,
      extId,
      status,
      extendedStatus: r.state,
      hostName: hostname,
      instanceName: r.containerName ?? hostname,
      hypervisorHostName: r.nodeId,
      ips,
      floatingIps,
      image: known?.image ?? { extId: r.image, name: r.image },
      ...(known ? { flavor: known.flavor, created: known.created } : {}),
    };
  }

  /**
   * The containers this driver placed, from the fleet's records refreshed from the agents (so also the ones
   * found on agents after a driver restart); servers on nodes that stopped answering are INACTIVE.
   */
  async list(): Promise<Server[]> {
    const out: Server[] = [];
    for (const d of await this.deployments.ours()) {
      for (const r of d.replicas) {
        out.push(
          r.state === "unknown"
            ? { ...this.toServer(r, "INACTIVE"), extendedStatus: "node offline" }
            : this.toServer(r),
        );
      }
    }
    return out.sort((a, b) => a.extId.localeCompare(b.extId));
  }

  /** Removes a failed launch on its node (short grace), then from the fleet's records. */
  async discard(name: string, nodeId: string, agentId: string): Promise<void> {
    await this.deployments.undeclare(name).catch(() => undefined);
    // The agent serialises commands per deployment id: this remove runs after a deploy still in progress there.
    await this.removeDeployment(nodeId, agentId, true);
    try {
      await this.deployments.forget(name);
    } catch (e) {
      this.calls.logger.warn("could not forget a failed launch", { name, error: errorMessage(e) });
    }
  }

  /**
   * True when the node answered (whether or not it still had the container). `owed`: a failure is remembered
   * as a tombstone and the container removed when its node is live again (ReturningNodes).
   */
  private async removeDeployment(nodeId: string, deploymentId: string, owed = false): Promise<boolean> {
    try {
      // A short stop grace: the NFVO's delete is fire-and-forget and a VNFC is disposable.
      await this.calls.agents.client(nodeId).call("remove", { deploymentId, timeoutSeconds: 2 });
      return true;
    } catch (e) {
      const reason = errorMessage(e);
      this.calls.logger.warn("could not remove a container", { nodeId, deploymentId, error: reason, owed });
      if (owed) {
        this.pendingRemovals.add({ nodeId, deploymentId, since: Date.now(), reason });
        this.returningNodes.retry(nodeId);
      }
      return false;
    }
  }

  /** The fleet forgets a deployment of this driver (`<name>.<service>.<replica>`) once it is gone. */
  private async forget(agentId: string): Promise<void> {
    // Owed removals of fleet-API deployments are in the same book; their records are the reconciler's.
    if (!this.deployments.isOurs(agentId)) return;
    try {
      await this.deployments.forget(deploymentOfAgentId(agentId));
    } catch (e) {
      this.calls.logger.info("the orchestrator could not remove a server", {
        agentId,
        error: errorMessage(e),
      });
    }
  }

  /** Idempotent: an unknown or already removed server is fine; the NFVO never sees errors here anyway. */
  async delete(extId: string): Promise<boolean> {
    const ref = parseServerExtId(extId);
    const agentId = ref?.agentDeploymentId ?? extId;
    if (!this.deployments.isOurs(agentId)) {
      this.calls.logger.info("delete of a server this driver did not place, ignored", { extId });
      return true;
    }
    const nodeId = ref?.nodeId;
    this.placed.delete(extId);
    // No longer declared first, so the reconciler does not start again what is being removed.
    await this.deployments.undeclare(deploymentOfAgentId(agentId)).catch(() => undefined);
    let removed = false;
    if (nodeId !== undefined && this.calls.fleet.liveNode(nodeId) !== undefined) {
      removed = await this.removeDeployment(nodeId, agentId, true);
    } else if (nodeId !== undefined) {
      // Its node is offline: the agent keeps the container running, so it is removed when the node is back.
      this.pendingRemovals.add({ nodeId, deploymentId: agentId, since: Date.now(), reason: "node offline" });
      this.calls.logger.info("node offline: removal owed until it is back", {
        nodeId,
        deploymentId: agentId,
      });
    }
    // Then the fleet forgets it (its own remove finds the container gone).
    await this.forget(agentId);
    // Its node did not answer, or the id names none: remove it wherever it may be.
    if (!removed)
      await Promise.all(this.calls.fleet.live().map((n) => this.removeDeployment(n.nodeId, agentId)));
    return true;
  }
}
