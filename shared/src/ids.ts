import { createHash } from "node:crypto";

/**
 * Every composite identifier the processes agree on, built and parsed here only (no other code splits them):
 *
 * - agent deployment id `<deployment>.<service>.<replica>`: one replica of a fleet deployment on an agent;
 * - Open Baton server extId `<nodeId>:<agentDeploymentId>` (the NFVO's `vc_id`);
 * - container name `iotfog-<nodeId>-<agentDeploymentId>`, given by the agent that creates it;
 * - fog network name `<prefix><slug>.<hash of nodeId>`: the Docker network of a virtual link on one node;
 * - device reference `<nodeId>:<deviceId>` (the CLI's what-if arguments).
 *
 * Node ids and deployment names never contain `:`, and fleet deployment and service names are DNS labels (no
 * `.`), so each split is unambiguous; parsers return undefined for a string that is not of their form.
 */

/** One replica of a fleet deployment, as an agent knows it. */
export interface AgentDeploymentRef {
  deployment: string;
  service: string;
  replica: number;
}

const AGENT_DEPLOYMENT_ID = /^([a-z0-9][a-z0-9-]*)\.([a-z0-9][a-z0-9-]*)\.(\d+)$/;

export function agentDeploymentId(deployment: string, service: string, replica: number): string {
  return `${deployment}.${service}.${replica}`;
}

export function parseAgentDeploymentId(id: string): AgentDeploymentRef | undefined {
  const m = AGENT_DEPLOYMENT_ID.exec(id);
  if (m === null) return undefined;
  return { deployment: m[1] as string, service: m[2] as string, replica: Number(m[3]) };
}

/** The fleet deployment an agent deployment id belongs to (the id itself when it is not of that form). */
export function deploymentOfAgentId(id: string): string {
  return parseAgentDeploymentId(id)?.deployment ?? id;
}

/** A container the VIM driver placed, as the NFVO names it (`Server.extId`, `vc_id`). */
export interface ServerRef {
  nodeId: string;
  agentDeploymentId: string;
}

export function serverExtId(nodeId: string, agentDeploymentId: string): string {
  return `${nodeId}:${agentDeploymentId}`;
}

/** undefined when there is no node part (no `:` after a non-empty node id). */
export function parseServerExtId(extId: string): ServerRef | undefined {
  const sep = extId.indexOf(":");
  if (sep <= 0) return undefined;
  return { nodeId: extId.slice(0, sep), agentDeploymentId: extId.slice(sep + 1) };
}

/** The Docker container of a deployment on a node (unique per engine even when agents share one). */
export function containerName(nodeId: string, deploymentId: string): string {
  return `iotfog-${nodeId}-${deploymentId}`;
}

/** The per-node Docker network of a fleet-wide network `<prefix><slug>` (Docker names: at most 63 characters). */
export function fogNetworkName(prefix: string, slug: string, nodeId: string): string {
  const hash = createHash("sha256").update(nodeId).digest("hex").slice(0, 6);
  return `${prefix}${slug}.${hash}`.slice(0, 63);
}

/** The slug of a per-node network name built by fogNetworkName for `nodeId`; undefined for any other name. */
export function parseFogNetworkName(prefix: string, name: string, nodeId: string): string | undefined {
  if (!name.startsWith(prefix)) return undefined;
  const rest = name.slice(prefix.length);
  const dot = rest.lastIndexOf(".");
  if (dot <= 0) return undefined;
  const slug = rest.slice(0, dot);
  return name === fogNetworkName(prefix, slug, nodeId) ? slug : undefined;
}

/** A device on a node. */
export interface DeviceRef {
  nodeId: string;
  deviceId: string;
}

/** `<nodeId>:<deviceId>`; undefined when either part is empty. */
export function parseDeviceRef(text: string): DeviceRef | undefined {
  const sep = text.indexOf(":");
  if (sep <= 0 || sep === text.length - 1) return undefined;
  return { nodeId: text.slice(0, sep), deviceId: text.slice(sep + 1) };
}

export function deviceRef(nodeId: string, deviceId: string): string {
  return `${nodeId}:${deviceId}`;
}
