import { IotFogError, parseServerExtId, type DeploymentInfo } from "@openiotfog/shared";
import type { VnfcStatus } from "./ports";

/** The node and agent deployment of a VNFC's vc_id (the driver's Server.extId); BAD_REQUEST for another id. */
export function splitExtId(vcId: string): { nodeId: string; deploymentId: string } {
  const ref = parseServerExtId(vcId);
  if (ref === undefined)
    throw new IotFogError("BAD_REQUEST", `"${vcId}" is not a fog server id (<node>:<deployment>)`);
  return { nodeId: ref.nodeId, deploymentId: ref.agentDeploymentId };
}

/** The Open Baton state of a VNFC from its container's. */
export function stateOf(info: DeploymentInfo): VnfcStatus["state"] {
  if (info.state === "running") return "ACTIVE";
  if (info.state === "dead" || info.state === "missing") return "ERROR";
  return "INACTIVE";
}
