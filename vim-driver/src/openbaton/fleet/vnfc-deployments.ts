import { randomBytes } from "node:crypto";
import { isIotFogError, type ServiceSpec } from "@openiotfog/shared";
import type { Orchestrator } from "../../fleet/orchestrator";
import type { NetworksFor } from "../../fleet/starter";
import type { DeploymentRecord, DeployProgress } from "../../fleet/types";
import type { TombstoneBook } from "../pending-removals";

/**
 * The Open Baton side's one door into the fleet's deployments (vim-driver/src/fleet): every VNFC is one
 * deployment named `ob-<type>-<name>-<random>` with one service, placed, declared and removed by the fleet, so
 * VNFCs also appear in the fleet API and GUI. The launch path, the server list, deletes and the tombstones all go
 * through here: how the fleet declares and removes deployments changes this file only.
 */
export class VnfcDeployments {
  /** Deployment names are DNS labels (no dots); agent ids are `<name>.<service>.0`. */
  readonly prefix: string;

  constructor(
    private readonly orchestrator: Orchestrator,
    openbaton: { type: string; name: string },
  ) {
    this.prefix = `ob-${openbaton.type}-${openbaton.name}-`;
  }

  /** A fresh deployment name for one launch. */
  newName(): string {
    return `${this.prefix}${randomBytes(6).toString("hex")}`;
  }

  /** Whether a deployment (or agent deployment) id is one this driver placed. */
  isOurs(id: string): boolean {
    return id.startsWith(this.prefix);
  }

  /** Places, declares and starts the VNFC (the fleet's deploy path: image copy, networks, agent deploy). */
  deploy(
    name: string,
    spec: ServiceSpec,
    onProgress: (p: DeployProgress) => void,
    networksFor: NetworksFor,
  ): Promise<DeploymentRecord> {
    return this.orchestrator.deploy({ name, services: [spec] }, onProgress, networksFor);
  }

  /** The deployments this driver placed, refreshed from the agents (also those found after a restart). */
  async ours(): Promise<DeploymentRecord[]> {
    return (await this.orchestrator.list()).filter((d) => this.isOurs(d.id));
  }

  /** Agent deployment ids this driver process launched. */
  async ownLaunches(): Promise<Set<string>> {
    const own = new Set<string>();
    for (const d of await this.orchestrator.list())
      if (d.origin === "api" && this.isOurs(d.id)) for (const r of d.replicas) own.add(r.agentDeploymentId);
    return own;
  }

  /**
   * No longer declared, containers untouched: the caller removes them itself (short grace, owed removals), then
   * `forget`s the record. Until then the fleet's reconciler leaves the deployment alone (it would start it again).
   */
  async undeclare(name: string): Promise<void> {
    await this.orchestrator.undeclare(name);
  }

  /** The fleet forgets a deployment (and removes what is left of it); one it does not know is fine. */
  async forget(name: string): Promise<void> {
    try {
      await this.orchestrator.remove(name);
    } catch (e) {
      if (!(isIotFogError(e) && e.code === "NOT_FOUND")) throw e;
    }
  }

  /** Where removals owed to offline nodes are kept: the fleet's declared state (they survive a restart). */
  get tombstones(): TombstoneBook {
    return this.orchestrator.declared;
  }
}
