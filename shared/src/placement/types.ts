import { z } from "zod";
import {
  deviceSchema,
  nodeCapabilitiesSchema,
  type Device,
  type NodeCapabilities,
} from "../capabilities/model";
import type { ImagePlatform } from "../capabilities/platform";
import { serviceSpecSchema, type ServiceSpec } from "../blueprint/spec";

/**
 * Placement inputs and outputs. Everything here is plain data (JSON-serialisable) so a decision can be logged,
 * sent to the GUI or replayed in a test.
 */

/** A replica already running (`placed`) or promised but not yet started (`reserved`) on a node. */
export const allocationSchema = z
  .object({
    deploymentId: z.string().optional(),
    service: z.string().min(1),
    replica: z.number().int().nonnegative().optional(),
    state: z.enum(["placed", "reserved"]),
    resources: z
      .object({
        cpus: z.number().nonnegative().optional(),
        memoryBytes: z.number().nonnegative().optional(),
        diskBytes: z.number().nonnegative().optional(),
      })
      .strict()
      .default({}),
    /** Devices this replica holds; an exclusive lease keeps every other service off the device. */
    devices: z.array(z.object({ id: z.string().min(1), exclusive: z.boolean() }).strict()).default([]),
  })
  .strict();
export type Allocation = z.infer<typeof allocationSchema>;

export const nodeStateSchema = z
  .object({
    capabilities: nodeCapabilitiesSchema,
    online: z.boolean(),
    allocations: z.array(allocationSchema).default([]),
  })
  .strict();
/** A node as placement sees it: what it advertises, whether it is reachable, and what is already on it. */
export interface NodeState {
  capabilities: NodeCapabilities;
  online: boolean;
  allocations: Allocation[];
}

/** The fleet at one instant. Treat as immutable while a placement runs. */
export interface ClusterSnapshot {
  nodes: NodeState[];
  /**
   * The platforms each image is known to exist for (learnt from the nodes holding it), keyed by `imageKey`. An
   * image not listed is unknown: placement does not constrain it and the node's pull decides.
   */
  images?: Record<string, ImagePlatform[]>;
}

export const placementRequestSchema = z
  .object({
    spec: serviceSpecSchema,
    deploymentId: z.string().optional(),
    /** Which replica this decision is for (0-based); part of the tie-break seed. */
    replica: z.number().int().nonnegative().default(0),
    /** Overrides the tie-break seed; default derives from deployment, service and replica. */
    seed: z.string().optional(),
    /** Nodes that must not be chosen (e.g. the node a replica is being moved away from). */
    excludeNodes: z.array(z.string()).default([]),
  })
  .strict();
export interface PlacementRequest {
  spec: ServiceSpec;
  deploymentId?: string;
  replica?: number;
  seed?: string;
  excludeNodes?: string[];
}

/** One predicate that rejected a node, with what it wanted and what it saw there. */
export interface PredicateFailure {
  /** The filter plugin that evaluated it (e.g. `constraints`, `resources`, `devices`). */
  filter: string;
  /** The predicate as an operator reads it: `node.labels.zone == line-1`, `memory >= 2GiB`, `device zigbee`. */
  predicate: string;
  /** What the node had: `line-2`, `1.8GiB free`, `(not set)`, `one, in use by svc-x`. */
  seen: string;
  /** Machine-readable reason, stable across releases (`mismatch`, `insufficient`, `missing`, `in_use`, ...). */
  reason: string;
}

export interface ScoreDetail {
  scorer: string;
  /** 0..100 after normalisation. */
  score: number;
  weight: number;
}

export interface NodeExplanation {
  nodeId: string;
  hostname: string;
  feasible: boolean;
  /** Every predicate that failed on this node (not only the first). Empty when feasible. */
  failures: PredicateFailure[];
  /** Scores of feasible nodes; present on every feasible node when `explain: "full"`, else on the chosen one. */
  scores?: ScoreDetail[];
  finalScore?: number;
}

export interface Explanation {
  nodesEvaluated: number;
  nodesFeasible: number;
  /** How many nodes each predicate rejected, keyed by predicate text. */
  rejectedBy: Record<string, number>;
  /** Per-node detail: every node on failure or with `explain: "full"`; the chosen node otherwise. */
  nodes: NodeExplanation[];
}

/** A device handed to the runtime: map `hostPath` into the container at `containerPath`. */
export interface DeviceAssignment {
  /** Index into `spec.devices`. */
  requirement: number;
  device: Device;
  hostPath: string;
  containerPath: string;
  exclusive: boolean;
}

export interface PlacementSuccess {
  ok: true;
  nodeId: string;
  devices: DeviceAssignment[];
  scores: ScoreDetail[];
  finalScore: number;
  explanation: Explanation;
}

export interface PlacementFailure {
  ok: false;
  /** One sentence an operator understands: `no node satisfies: device zigbee (...); memory >= 2GiB (...)`. */
  message: string;
  explanation: Explanation;
}

export type PlacementDecision = PlacementSuccess | PlacementFailure;

export interface PlacementOptions {
  /** `full`: per-node detail (every failure, every score) even on success. `summary` (default): counts, chosen node. */
  explain?: "full" | "summary";
  /** Weight per scorer name, overriding the registry defaults; 0 disables a scorer. */
  scorerWeights?: Record<string, number>;
}

export const deviceAssignmentSchema = z
  .object({
    requirement: z.number().int().nonnegative(),
    device: deviceSchema,
    hostPath: z.string(),
    containerPath: z.string(),
    exclusive: z.boolean(),
  })
  .strict();
