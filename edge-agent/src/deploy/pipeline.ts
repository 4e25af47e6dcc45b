import { isIotFogError, type DeployParams, type DeployResult } from "@openiotfog/shared";
import type { DeviceLeaseGate } from "../hardware/leases";
import type { Forwarding } from "../forwarding/decide";
import type { DeployForwarder } from "../forwarding/forwarder";
import type { EventBus } from "../monitoring/bus";

export type ForwardableDeployParams = DeployParams & { forward?: Forwarding };
export type RoutedDeployResult = DeployResult & { route?: string[] };
export type DeployFn = (params: ForwardableDeployParams) => Promise<RoutedDeployResult>;

export interface DeployPipelineOptions {
  selfNodeId: string;
  /** Stages 2, 4 and 5 on this node: admission, state, container (DeploymentManager.deploy). */
  local: (params: DeployParams) => Promise<DeployResult>;
  leases: DeviceLeaseGate;
  forwarder: DeployForwarder;
  /** Where refusals are reported (monitoring observes them; it takes no part in the deploy). */
  bus: EventBus;
}

/**
 * The agent's deploy path. Every deploy goes through it, whether it came over ZeroMQ (endpoint/handlers.ts) or
 * REST (rest/agent-backend.ts):
 *
 * 1. lease (hardware/leases.ts): deploys that need devices run one at a time, so exclusive leases hold;
 * 2. admission (deploy/admission.ts): the host-safety policy, then the placement engine's admission against what
 *    the node runs now. The manager runs it under the deployment's lock, after its idempotency check: a retried
 *    deploy gets its first answer, not a second admission;
 * 3. forward or run: a request refused by admission goes to a peer when it allows forwarding
 *    (forwarding/forwarder.ts); a policy refusal is never forwarded (it is for the driver's placement to settle);
 * 4. state (state/store.ts): the desired state is on disk before the container exists, so a crash in between is
 *    finished by the reconcile loop;
 * 5. container (deploy/containers.ts over runtime/): the image present, the container created and started.
 *
 * A deploy that arrived forwarded and runs here says so in its route.
 */
export function deployPipeline(opts: DeployPipelineOptions): DeployFn {
  return async (params) => {
    try {
      const result = await opts.leases.run(params.spec, () => opts.local(params));
      const visited = params.forward?.visited ?? [];
      return visited.length > 0 ? { ...result, route: [...visited, opts.selfNodeId] } : result;
    } catch (e) {
      if (isIotFogError(e) && e.code === "POLICY_REFUSED") {
        // Not forwarded: what this node's operator forbids is for the driver's placement to settle, not a peer.
        opts.bus.emit({
          type: "policy.refused",
          message: e.message,
          deploymentId: params.deploymentId,
          service: params.spec.name,
          data: e.details === undefined ? {} : { details: e.details },
        });
      }
      if (!isIotFogError(e) || e.code !== "ADMISSION_REFUSED") throw e;
      opts.bus.emit({
        type: "admission.refused",
        message: e.message,
        deploymentId: params.deploymentId,
        service: params.spec.name,
        data: {
          forwardingAllowed: params.forward?.allowed === true,
          ...(e.details === undefined ? {} : { details: e.details }),
        },
      });
      return opts.forwarder.forward(params, e);
    }
  };
}
