import { isIotFogError, type DeployParams, type DeployResult } from "@openiotfog/shared";
import type { DeviceLeaseGate } from "../hardware/leases";
import type { EventBus } from "../monitoring/bus";
import type { Forwarding } from "./decide";
import type { DeployForwarder } from "./forwarder";

export type ForwardableDeployParams = DeployParams & { forward?: Forwarding };
export type RoutedDeployResult = DeployResult & { route?: string[] };
export type DeployFn = (params: ForwardableDeployParams) => Promise<RoutedDeployResult>;

export interface DeployPipelineOptions {
  selfNodeId: string;
  /** The node's own deploy (admission, state, runtime). */
  local: (params: DeployParams) => Promise<DeployResult>;
  leases: DeviceLeaseGate;
  forwarder: DeployForwarder;
  bus: EventBus;
}

/**
 * Every deploy, whether it came over ZeroMQ or REST: run it here (device deploys one at a time, so exclusive
 * leases hold), record a refusal as an `admission.refused` event, and hand a refused request to a peer when it
 * allows forwarding. A deploy that arrived forwarded and runs here says so in its route.
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
