import type { ServiceSpec } from "../blueprint/spec";
import type { ImagePlatform } from "../capabilities/platform";
import { NodeView, type RequestIdentity } from "./node-view";
import type { NodeState, PlacementRequest } from "./types";

/**
 * The plugin contract of the placement pipeline (after the Kubernetes scheduler framework and Nomad's
 * feasibility checkers / rankers). A new filter or scorer is one file plus one line in filters/index.ts or
 * scorers/index.ts.
 */
export interface PlacementContext {
  request: PlacementRequest;
  spec: ServiceSpec;
  who: RequestIdentity;
  /** Every node of the snapshot, also the ones later filtered out. */
  nodes: readonly NodeState[];
  /** The platforms the requested image is known to exist for; undefined when no node reported it. */
  imagePlatforms: readonly ImagePlatform[] | undefined;
  /** Nodes already holding replicas of this service (cluster-wide counts: spread, distinct_property). Memoised. */
  nodesRunningService: () => NodeSet;
}

/** One yes/no check on a node, with what it saw when the answer is no. */
export interface Predicate {
  /** As an operator reads it: `node.labels.zone == line-1`, `memory >= 2GiB`, `device class zigbee`. */
  text: string;
  /** Relative cost within its filter; cheaper predicates run first. */
  cost: number;
  test: (node: NodeView) => boolean;
  /** Called only after `test` failed: what the node had (`1.8GiB free`, `line-2`) and a stable reason code. */
  explain: (node: NodeView) => { seen: string; reason: string };
  /**
   * The clause of the operator sentence for this predicate, given the nodes it rejected. Default:
   * `memory >= 2GiB (pi-01 has 1.8GiB free; pi-03 has 1GiB free)`.
   */
  summarise?(
    rejected: ReadonlyArray<{ nodeId: string; seen: string; reason: string }>,
    nodesEvaluated: number,
  ): string;
}

export interface FilterPlugin {
  name: string;
  /** Pipeline position: lower runs first (cheap checks before expensive ones, as Nomad orders its iterators). */
  order: number;
  /** Builds this request's predicates (none when the request asks nothing of this filter). May throw on bad input. */
  prepare(ctx: PlacementContext): Predicate[];
}

/**
 * The feasible nodes, visited through one reusable view: a visitor must not keep the view it is handed (read
 * what it needs and let go), so scoring 10,000 nodes allocates nothing per node.
 */
export interface NodeSet {
  readonly size: number;
  forEach(visit: (node: NodeView) => void): void;
  some(test: (node: NodeView) => boolean): boolean;
}

/** A NodeSet over states, visited through one view of its own. */
export function nodeSetOf(states: readonly NodeState[], who: RequestIdentity): NodeSet {
  let cursor: NodeView | undefined;
  const view = (state: NodeState): NodeView =>
    cursor === undefined ? (cursor = new NodeView(state, who)) : cursor.reset(state);
  return {
    size: states.length,
    forEach: (visit) => {
      for (const state of states) visit(view(state));
    },
    some: (test) => states.some((state) => test(view(state))),
  };
}

/** Scores feasible nodes for one request; every score is 0..100 (higher is better). */
export interface PreparedScorer {
  score: (node: NodeView) => number;
}

export interface ScorerPlugin {
  name: string;
  /** Weight in the weighted mean of scores; PlacementOptions.scorerWeights overrides it. */
  defaultWeight: number;
  /** Undefined when the request gives this scorer nothing to do (e.g. no preferences). */
  prepare(ctx: PlacementContext, feasible: NodeSet): PreparedScorer | undefined;
}

/** Clamps a raw score into 0..100 (plugins promise that range; a NaN becomes 0 rather than poisoning the sum). */
export function clampScore(score: number): number {
  if (!(score > 0)) return 0;
  return score > 100 ? 100 : score;
}
