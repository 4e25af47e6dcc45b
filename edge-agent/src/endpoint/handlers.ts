import {
  IOTFOG_VERSION,
  IotFogError,
  PROTOCOL_VERSION,
  networkDriverViolations,
  policyRefusal,
  type HostPolicy,
  type LabelsChange,
  type LabelsSetResult,
  type Trust,
} from "@openiotfog/shared";
import type { DeploymentManager } from "../deploy/manager";
import type { DeployFn } from "../deploy/pipeline";
import type { CapabilityService } from "../discovery/service";
import type { ImageTransfers } from "../images";
import type { ContainerRuntime } from "../runtime/runtime";
import { withAttachment, type CommandHandlers } from "./server";

export interface HandlerDeps {
  nodeId: string;
  startedAt: number;
  capabilities: CapabilityService;
  deployments: DeploymentManager;
  /** Every deploy goes through the pipeline: lease, admission, forward or run, state, container. */
  deploy: DeployFn;
  runtime: ContainerRuntime;
  images: ImageTransfers;
  /** The operators' label layer (labels/store.ts): persists a change, then republishes the capabilities. */
  labels: { change(change: LabelsChange): Promise<LabelsSetResult> };
  /** The host-safety policy: `networks.create` may use only the drivers it allows. */
  hostPolicy: HostPolicy;
  /** The node's trust list: a trust.update is checked against the fleet keys in force (security/). */
  security: { update(trust: Trust, mac: string): Promise<Trust> };
  /** Told when the driver reaches this node (`ping`, `list`, `start`, `remove`): fencing/contact.ts. */
  fleetContact: { heard(): void };
}

/** Every command of the protocol, mapped onto the agent's parts. Params arrive validated. */
export function commandHandlers(d: HandlerDeps): CommandHandlers {
  return {
    ping: async () => {
      d.fleetContact.heard();
      return {
        nodeId: d.nodeId,
        agentVersion: IOTFOG_VERSION,
        protocolVersion: PROTOCOL_VERSION,
        time: Date.now(),
        uptimeMs: Date.now() - d.startedAt,
      };
    },
    capabilities: async (p) => (p.refresh ? d.capabilities.refresh() : d.capabilities.current()),
    deploy: (p) => d.deploy(p),
    start: (p) => {
      d.fleetContact.heard();
      return d.deployments.startDeployment(p.deploymentId);
    },
    stop: (p) => d.deployments.stopDeployment(p.deploymentId, p.timeoutSeconds),
    remove: (p) => {
      d.fleetContact.heard();
      return d.deployments.removeDeployment(p.deploymentId, p.timeoutSeconds);
    },
    list: async () => {
      d.fleetContact.heard();
      return { deployments: await d.deployments.list() };
    },
    inspect: (p) => d.deployments.inspect(p.deploymentId),
    logs: async (p) => ({ lines: await d.deployments.logs(p.deploymentId, p.tail, p.timestamps) }),
    "images.list": async () => ({ images: await d.runtime.listImages() }),
    "images.import.begin": (p) => d.images.beginImport(p.sizeBytes, p.sha256, p.expect),
    "images.import.chunk": async (p, ctx) => {
      if (ctx.attachment === undefined) {
        throw new IotFogError("BAD_REQUEST", "images.import.chunk needs the chunk bytes as a second frame");
      }
      return d.images.importChunk(p.transferId, p.offset, ctx.attachment);
    },
    "images.import.commit": (p) => d.images.commitImport(p.transferId),
    "images.import.abort": async (p) => {
      await d.images.abort(p.transferId);
      return {};
    },
    "images.pull": (p) => d.runtime.pullImage(p.image),
    "images.export.begin": (p) => d.images.beginExport(p.image),
    "images.export.chunk": async (p) => {
      const { result, bytes } = await d.images.exportChunk(p.transferId, p.offset);
      return withAttachment(result, bytes);
    },
    "images.export.end": async (p) => {
      await d.images.endExport(p.transferId);
      return {};
    },
    "networks.list": async () => ({ networks: await d.runtime.listNetworks() }),
    "networks.create": (p) => {
      const violations = networkDriverViolations(p.driver, d.hostPolicy);
      if (violations.length > 0) throw policyRefusal(d.nodeId, `network ${p.name}`, violations);
      return d.runtime.createNetwork({
        name: p.name,
        driver: p.driver,
        labels: p.labels,
        ...(p.subnet !== undefined ? { subnet: p.subnet } : {}),
        ...(p.gateway !== undefined ? { gateway: p.gateway } : {}),
      });
    },
    "networks.remove": async (p) => ({ name: p.name, removed: await d.runtime.removeNetwork(p.name) }),
    "labels.set": (p) => d.labels.change(p),
    "trust.update": async (p) => {
      const trust = await d.security.update(p.trust, p.mac);
      return { issuedAt: trust.issuedAt, fleetKeys: trust.fleetKeys };
    },
  };
}
