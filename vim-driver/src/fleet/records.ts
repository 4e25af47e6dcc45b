import type { PlacementSuccess, ServiceSpec } from "@openiotfog/shared";
import type { DeclaredDeployment } from "./declared";
import type { DeployProgress, DeploymentRecord } from "./types";
import { agentDeploymentId } from "./workload";

/** One replica as placement chose it, to be started. */
export interface PlannedStep {
  spec: ServiceSpec;
  replica: number;
  decision: PlacementSuccess;
}

/** The record of a deployment about to start: every replica placed, none started yet (`pending`). */
export function plannedRecord(
  name: string,
  services: ServiceSpec[],
  plan: PlannedStep[],
  now: number,
): DeploymentRecord {
  return {
    id: name,
    createdAt: now,
    status: "deploying",
    origin: "api",
    services: services.map((s) => ({ name: s.name, image: s.image, replicas: s.replicas })),
    specs: services,
    replicas: plan.map((p) => ({
      service: p.spec.name,
      replica: p.replica,
      nodeId: p.decision.nodeId,
      agentDeploymentId: agentDeploymentId(name, p.spec.name, p.replica),
      image: p.spec.image,
      state: "pending",
      devices: p.decision.devices.map((a) => ({
        deviceId: a.device.id,
        hostPath: a.hostPath,
        containerPath: a.containerPath,
      })),
      resources: p.spec.resources,
      exclusiveDevices: p.decision.devices.filter((a) => a.exclusive).map((a) => a.device.id),
      sharedDevices: p.decision.devices.filter((a) => !a.exclusive).map((a) => a.device.id),
    })),
  };
}

/** The declaration of a deployment record: its specs and where each replica is placed. */
export function toDeclared(record: DeploymentRecord, at: number): DeclaredDeployment {
  return {
    id: record.id,
    createdAt: record.createdAt,
    specs: record.specs ?? [],
    replicas: record.replicas.map((r) => ({
      service: r.service,
      replica: r.replica,
      nodeId: r.nodeId,
      agentDeploymentId: r.agentDeploymentId,
      image: r.image,
      devices: r.devices,
      resources: r.resources,
      exclusiveDevices: r.exclusiveDevices,
      sharedDevices: r.sharedDevices,
      placedAt: at,
    })),
    history: record.replicas.map((r) => ({
      at,
      service: r.service,
      replica: r.replica,
      nodeId: r.nodeId,
      action: "placed" as const,
    })),
  };
}

/** The record of a declared deployment before the agents were asked (after a restart): states unknown. */
export function fromDeclared(d: DeclaredDeployment): DeploymentRecord {
  return {
    id: d.id,
    createdAt: d.createdAt,
    status: "degraded",
    origin: "api",
    services: d.specs.map((s) => ({ name: s.name, image: s.image, replicas: s.replicas })),
    specs: d.specs,
    replicas: d.replicas.map((r) => ({
      service: r.service,
      replica: r.replica,
      nodeId: r.nodeId,
      agentDeploymentId: r.agentDeploymentId,
      image: r.image,
      state: "unknown",
      devices: r.devices,
      resources: r.resources,
      exclusiveDevices: r.exclusiveDevices,
      sharedDevices: r.sharedDevices,
    })),
  };
}

/** One line an operator reads for a deploy step (event feed, CLI). */
export function describeProgress(p: DeployProgress): string {
  const who = `${p.service}#${p.replica}`;
  switch (p.phase) {
    case "placed":
      return `${who} placed on ${p.nodeId}`;
    case "image":
      if (p.action === "present") return `${who} image ${p.image} present on ${p.nodeId}`;
      if (p.action === "pull") return `${who} pulling ${p.image} on ${p.nodeId}`;
      return p.doneBytes === undefined || p.doneBytes === 0
        ? `${who} copying ${p.image} from ${p.fromNodeId ?? "?"} to ${p.nodeId}`
        : `${who} copied ${p.image} to ${p.nodeId} (${p.doneBytes} bytes)`;
    case "starting":
      return `${who} starting on ${p.nodeId}`;
    case "started":
      return `${who} ${p.state} on ${p.nodeId} as ${p.containerName}`;
  }
}
