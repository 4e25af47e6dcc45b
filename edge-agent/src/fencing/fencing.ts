import { errorMessage, type Component, type Logger } from "@openiotfog/shared";
import type { DeploymentManager } from "../deploy/manager";
import type { FleetContact } from "./contact";

/** How often the agent compares its silence with the services' `fence_after`. */
export const FENCE_CHECK_MS = 500;

/**
 * Agent-side fencing (Nomad's stop_after_client_disconnect): a service whose spec has `fence_after` is stopped
 * by the agent itself once the node has not heard from the fleet (fencing/contact.ts) for that long, so that a
 * node cut off from the fleet stops driving a machine the fleet has handed to another node. A fenced replica is
 * never started again by the agent on its own (not by its reconcile, not after a restart): only the driver's
 * `start`, sent when the replica is still declared on this node, starts it; a superseded one is removed by the
 * driver. The first check runs inside the deployment manager's start, before it re-adopts anything.
 */
export class Fencing implements Component {
  readonly name = "fencing";
  private timer: NodeJS.Timeout | undefined;
  private checking = false;

  constructor(
    private readonly contact: FleetContact,
    private readonly deployments: DeploymentManager,
    private readonly logger: Logger,
  ) {
    deployments.fenceBy(() => contact.silentForMs());
  }

  start(): Promise<void> {
    this.timer = setInterval(() => void this.check(), FENCE_CHECK_MS);
    return Promise.resolve();
  }

  stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    return Promise.resolve();
  }

  private async check(): Promise<void> {
    if (this.checking) return;
    this.checking = true;
    try {
      await this.deployments.fenceOverdue(this.contact.silentForMs());
    } catch (e) {
      this.logger.error("fencing check failed", { error: errorMessage(e) });
    } finally {
      this.checking = false;
    }
  }
}
