import { IotFogError, NodeView, type LabelsChange, type Logger, type NodeState } from "@openiotfog/shared";
import type { EventLog } from "../fleet/events";
import type { FleetView } from "../fleet/fleet-view";
import type { LogLine, Orchestrator } from "../fleet/orchestrator";
import type {
  DeployProgress,
  DeploymentRecord,
  ExplainResult,
  FleetEvent,
  FleetEventType,
  FleetNode,
  ReplicaRecord,
  WhatIf,
  WhatIfResult,
  WorkloadRequest,
} from "../fleet/types";

/** A node with the replicas recorded on it. */
export interface NodeSummary extends FleetNode {
  /** What placement still offers on the node: cores not reserved, available memory and disk. */
  free?: { cpus: number; memoryBytes: number; diskBytes: number };
  replicas: Array<
    Pick<ReplicaRecord, "service" | "replica" | "state" | "containerName"> & { deploymentId: string }
  >;
}

/** Operator labels to change on a node: `set` adds or overwrites, `remove` deletes keys. */
export type LabelChange = LabelsChange;

/**
 * Everything the fleet REST API needs, injected so routes, auth and validation are tested without a fleet.
 * Methods throw IotFogError; the API maps its code to an HTTP status.
 */
export interface FleetService {
  nodes(): NodeSummary[];
  node(nodeId: string): NodeSummary | undefined;
  /** Changes a node's operator labels on its agent (which republishes its capabilities). */
  setLabels(nodeId: string, change: LabelChange): Promise<Record<string, string>>;
  deployments(): Promise<DeploymentRecord[]>;
  deployment(id: string): Promise<DeploymentRecord>;
  deploy(req: WorkloadRequest, onProgress?: (p: DeployProgress) => void): Promise<DeploymentRecord>;
  remove(id: string): Promise<DeploymentRecord>;
  explain(
    req: WorkloadRequest,
    opts?: { whatIf?: WhatIf; nMinusOne?: boolean },
  ): ExplainResult | Promise<ExplainResult>;
  whatIf(whatIf: WhatIf): WhatIfResult;
  logs(
    id: string,
    opts: { service?: string; replica?: number; tail?: number; timestamps?: boolean },
  ): Promise<LogLine[]>;
  recentEvents(opts: {
    since?: number;
    limit?: number;
    types?: FleetEventType[];
    nodeId?: string;
  }): FleetEvent[];
  subscribe(listener: (e: FleetEvent) => void): () => void;
  /** Every node's CPU and memory over the last minutes, points received after `since` (epoch ms). */
  usage(since: number): UsageHistoryView;
}

export type UsageHistoryView = ReturnType<FleetView["usageHistory"]>;

/** Pushes label changes to a node's agent; the agent persists them and republishes its capabilities. */
export type LabelWriter = (nodeId: string, change: LabelChange) => Promise<Record<string, string>>;

export interface FleetServiceParts {
  view: FleetView;
  orchestrator: Orchestrator;
  events: EventLog;
  writeLabels: LabelWriter;
  logger: Logger;
}

/** The FleetService over the real fleet view, orchestrator and event log. */
export function fleetService(parts: FleetServiceParts): FleetService {
  const { view, orchestrator, events } = parts;
  const free = (n: FleetNode, states: Map<string, NodeState>): NodeSummary["free"] => {
    const state = states.get(n.nodeId);
    if (state === undefined) return undefined;
    const v = new NodeView(state, { deploymentId: undefined, service: "", replica: -1 });
    return { cpus: v.freeCpus, memoryBytes: v.freeMemoryBytes, diskBytes: v.freeDiskBytes };
  };
  const states = (): Map<string, NodeState> =>
    new Map(orchestrator.snapshot().nodes.map((s) => [s.capabilities.nodeId, s]));
  const summary = (n: FleetNode, all: Map<string, NodeState>): NodeSummary => ({
    ...n,
    ...(all.has(n.nodeId) ? { free: free(n, all) } : {}),
    replicas: orchestrator.replicasOn(n.nodeId).map((r) => ({
      deploymentId: r.deploymentId,
      service: r.service,
      replica: r.replica,
      state: r.state,
      ...(r.containerName === undefined ? {} : { containerName: r.containerName }),
    })),
  });
  return {
    nodes: () => {
      const all = states();
      return view.nodes().map((n) => summary(n, all));
    },
    node: (id) => {
      const n = view.node(id);
      return n === undefined ? undefined : summary(n, states());
    },
    setLabels: async (id, change) => {
      if (view.node(id) === undefined)
        throw new IotFogError("NOT_FOUND", `node "${id}" is not known to the fleet`);
      return parts.writeLabels(id, change);
    },
    deployments: () => orchestrator.list(),
    deployment: (id) => orchestrator.get(id),
    deploy: (req, onProgress) => orchestrator.deploy(req, onProgress),
    remove: (id) => orchestrator.remove(id),
    explain: async (req, opts) => {
      await orchestrator.learnImages();
      return orchestrator.explain(req, opts);
    },
    whatIf: (w) => orchestrator.whatIf(w),
    logs: (id, opts) => orchestrator.logs(id, opts),
    recentEvents: (opts) => events.recent(opts),
    subscribe: (listener) => events.subscribe(listener),
    usage: (since) => view.usageHistory(since),
  };
}
