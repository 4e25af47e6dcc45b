import { deploymentStates } from "@openiotfog/shared";
import type {
  ContainerFigures,
  Device,
  Explanation,
  LiveResources,
  NodeCapabilities,
  PlacementDecision,
  PresenceEndpoints,
  ServiceSpec,
} from "@openiotfog/shared";

/**
 * The fleet as operators see it (REST API, CLI, GUI) and as the deploy path uses it. Plain data, free of Open
 * Baton types, so the VIM driver and the operator surfaces share one view.
 */

/** One fog node: what it advertises, whether it answers, and how to reach it. */
export interface FleetNode {
  nodeId: string;
  online: boolean;
  /** Why the node is offline: `shutdown` (said goodbye), `lost` (last-will), `expired` (no heartbeat). */
  offlineReason?: string;
  /** Epoch ms of the last presence, capabilities or heartbeat message. */
  lastSeen: number;
  /** The agent's ZeroMQ command endpoint (from its presence message). */
  endpoint?: string;
  /**
   * Every address the agent serves, from its presence: `commands`, and when served `hardwareEvents` (where
   * hardware listeners publish), `events` (monitoring PUB) and `rest` (local REST API). Absent for old agents.
   */
  endpoints?: PresenceEndpoints;
  agentVersion?: string;
  /** Undefined until the node's capability document arrived. */
  capabilities?: NodeCapabilities;
  /** The latest heartbeat figures (free memory and disk, load). */
  live?: LiveResources;
  /** Replica counts from the agent's heartbeat. */
  agentDeployments?: { total: number; running: number };
  /** The node's CPU and memory from the agent's last usage message (docs/metrics.md). */
  usage?: {
    /** Epoch ms when the driver received it. */
    at: number;
    intervalMs: number;
    /** Cores busy since the agent's previous usage message (absent in its first). */
    cpuBusyCores?: number;
    cpuCores: number;
    memoryUsedBytes: number;
    memoryTotalBytes: number;
  };
  /** The running containers' CPU and memory from the same message, by agent deployment id. */
  containers?: ContainerFigures[];
}

/** Agent states, plus `pending` (placed, not started yet) and `unknown` (the node is offline: nobody can say). */
export const replicaStates = ["pending", ...deploymentStates, "unknown"] as const;
export type ReplicaState = (typeof replicaStates)[number];

/** Where one replica of one service runs. */
export interface ReplicaRecord {
  service: string;
  replica: number;
  nodeId: string;
  /** The id the agent knows it by (and the container's `org.openiotfog.deployment` label). */
  agentDeploymentId: string;
  image: string;
  state: ReplicaState;
  containerName?: string;
  devices: Array<{ deviceId: string; hostPath: string; containerPath: string }>;
  /** Declared reservations, for placement accounting of later deployments. */
  resources: ServiceSpec["resources"];
  exclusiveDevices: string[];
  sharedDevices: string[];
  /** Why it is not where it should be (node lost, nothing fits, start failed), from the reconciler. */
  note?: string;
}

export const deploymentStatuses = ["deploying", "running", "degraded", "failed", "removing"] as const;
export type DeploymentStatus = (typeof deploymentStatuses)[number];

/** A deployed blueprint: its services and where every replica runs. */
export interface DeploymentRecord {
  id: string;
  createdAt: number;
  status: DeploymentStatus;
  /** `api`: deployed through this driver; `discovered`: found on agents (e.g. after a driver restart). */
  origin: "api" | "discovered";
  services: Array<{ name: string; image: string; replicas: number }>;
  /** Full specs of the services; absent for discovered deployments. */
  specs?: ServiceSpec[];
  replicas: ReplicaRecord[];
  error?: string;
}

export const fleetEventTypes = [
  "node.online",
  "node.offline",
  "node.updated",
  "node.labels",
  "device.attached",
  "device.detached",
  "deployment.started",
  "deployment.progress",
  "deployment.deployed",
  "deployment.failed",
  "deployment.removed",
  "replica.waiting",
  "replica.pending",
  "replica.replaced",
  "replica.restarted",
  "replica.removed",
  "agent.event",
] as const;
export type FleetEventType = (typeof fleetEventTypes)[number];

/** Something that happened in the fleet, for the event feed and the live stream. */
export interface FleetEvent {
  /** Increases by one per event, so a client can resume a stream (`since`). */
  id: number;
  /** ISO 8601. */
  time: string;
  type: FleetEventType;
  nodeId?: string;
  deploymentId?: string;
  /** One line an operator reads. */
  message: string;
  data?: Record<string, unknown>;
}

/** Steps of a deployment, reported while it runs (CLI progress, GUI feed). */
export type DeployProgress =
  | { phase: "placed"; service: string; replica: number; nodeId: string; score?: number }
  | {
      phase: "image";
      service: string;
      replica: number;
      nodeId: string;
      image: string;
      /** `present`: nothing to do; `copy`: streamed from another node; `pull`: from a registry. */
      action: "present" | "copy" | "pull";
      fromNodeId?: string;
      doneBytes?: number;
      totalBytes?: number;
    }
  | { phase: "starting"; service: string; replica: number; nodeId: string }
  | {
      phase: "started";
      service: string;
      replica: number;
      nodeId: string;
      containerName: string;
      state: string;
    };

/** What to deploy or explain: a YAML blueprint, or services already in ServiceSpec form. */
export interface WorkloadRequest {
  blueprint?: string;
  services?: unknown[];
  /** Deployment id; default the blueprint's name. */
  name?: string;
}

/** Devices and nodes to pretend lost for a what-if. */
export interface WhatIf {
  lostNodes: string[];
  lostDevices: Array<{ nodeId: string; deviceId: string }>;
}

export interface ReplicaDecision {
  service: string;
  replica: number;
  decision: PlacementDecision;
}

/** A dry run: where every replica would go, and why not where it cannot. */
export interface ExplainResult {
  name: string;
  feasible: boolean;
  decisions: ReplicaDecision[];
  /** One line per replica that cannot be placed. */
  problems: string[];
  /** The plan again after each simulated loss (what-if / N-1). */
  scenarios?: Array<{
    name: string;
    lostNodes: string[];
    lostDevices: Array<{ nodeId: string; deviceId: string }>;
    feasible: boolean;
    decisions: ReplicaDecision[];
    problems: string[];
  }>;
}

/** N-1 check of what runs: can every deployment hit by the loss be placed again? */
export interface WhatIfResult {
  whatIf: WhatIf;
  ok: boolean;
  affected: Array<{
    deploymentId: string;
    /** The replicas on a lost node or holding a lost device. */
    replicas: Array<{ service: string; replica: number; fromNodeId: string }>;
    feasible: boolean;
    /** The deployment's plan after the loss; absent when its specs are unknown here. */
    decisions?: ReplicaDecision[];
    problem?: string;
  }>;
  problems: string[];
}

export type { Device, Explanation };
