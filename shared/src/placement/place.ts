import type { ServiceSpec } from "../blueprint/spec";
import { imageKey } from "../capabilities/platform";
import { IotFogError } from "../errors";
import { failureSentence } from "./explain";
import { filterPlugins } from "./filters";
import { NodeView, statesRunningService, type RequestIdentity } from "./node-view";
import {
  clampScore,
  nodeSetOf,
  type NodeSet,
  type PlacementContext,
  type Predicate,
  type PreparedScorer,
} from "./plugin";
import { scorerPlugins } from "./scorers";
import type {
  ClusterSnapshot,
  Explanation,
  NodeExplanation,
  NodeState,
  PlacementDecision,
  PlacementFailure,
  PlacementOptions,
  PlacementRequest,
  PredicateFailure,
  ScoreDetail,
} from "./types";
import { assignDevices } from "./devices";

/**
 * The placement pipeline: snapshot → feasibility filters (cheapest first) → scorers (0..100, weighted mean) →
 * deterministic tie-break seeded by the request. Pure: no I/O, no clock, no randomness, so a decision replays.
 */

interface StagedPredicate {
  filter: string;
  predicate: Predicate;
}

/** Stands in for the cursor's first node when the fleet is empty (the cursor is then never used). */
const PLACEHOLDER_NODE: NodeState = {
  capabilities: {
    schemaVersion: 1,
    nodeId: "",
    hostname: "",
    role: "worker",
    platform: { arch: "amd64", os: "", kernel: "" },
    agentVersion: "0.0.0",
    resources: {
      cpu: { cores: 1 },
      memory: { totalBytes: 0, freeBytes: 0 },
      disk: { totalBytes: 0, freeBytes: 0 },
    },
    devices: [],
    software: [],
    protocols: [],
    labels: {},
    engineLabels: {},
  },
  online: false,
  allocations: [],
};

/** Scores closer than this are a tie: float noise must not decide a placement. */
const TIE_EPSILON = 1e-9;

/** FNV-1a: a small, stable hash for the tie-break (same request, same snapshot → same node). */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function identityOf(request: PlacementRequest): RequestIdentity {
  return { deploymentId: request.deploymentId, service: request.spec.name, replica: request.replica ?? 0 };
}

function seedOf(request: PlacementRequest): string {
  return request.seed ?? `${request.deploymentId ?? ""}/${request.spec.name}/${request.replica ?? 0}`;
}

function stagePredicates(ctx: PlacementContext): StagedPredicate[] {
  const staged: StagedPredicate[] = [];
  for (const plugin of [...filterPlugins].sort((a, b) => a.order - b.order)) {
    const predicates = plugin.prepare(ctx).sort((a, b) => a.cost - b.cost);
    for (const predicate of predicates) staged.push({ filter: plugin.name, predicate });
  }
  return staged;
}

/** Every predicate that fails on the node (not only the first), with what it saw. */
function failuresOf(node: NodeView, staged: readonly StagedPredicate[]): PredicateFailure[] {
  const failures: PredicateFailure[] = [];
  for (const { filter, predicate } of staged) {
    if (predicate.test(node)) continue;
    const { seen, reason } = predicate.explain(node);
    failures.push({ filter, predicate: predicate.text, seen, reason });
  }
  return failures;
}

/** Chooses a node for one replica: filters, scores, deterministic tie-break. */
export function place(
  request: PlacementRequest,
  snapshot: ClusterSnapshot,
  options: PlacementOptions = {},
): PlacementDecision {
  const full = options.explain === "full";
  const who = identityOf(request);
  const nodes = snapshot.nodes;
  // Filters that need cluster-wide counts before the pass compute them; scorers get what the pass collected.
  let running: NodeState[] | undefined;
  let runningSet: NodeSet | undefined;
  const ctx: PlacementContext = {
    request,
    spec: request.spec,
    who,
    nodes,
    imagePlatforms: snapshot.images?.[imageKey(request.spec.image)],
    nodesRunningService: () =>
      (runningSet ??= nodeSetOf((running ??= statesRunningService(nodes, who)), who)),
  };
  const staged = stagePredicates(ctx);

  // Feasibility through one reusable view. Fast path stops at a node's first failure; the full explanation
  // re-checks rejected nodes against every predicate.
  const feasible: NodeState[] = [];
  const rejected: NodeState[] = [];
  const firstFailureCounts = new Array<number>(staged.length).fill(0);
  const cursor = new NodeView(nodes[0] ?? PLACEHOLDER_NODE, who);
  const tests = staged.map((s) => s.predicate.test);
  const collectRunning = running === undefined;
  const collected: NodeState[] = [];
  for (const state of nodes) {
    cursor.reset(state);
    // While the node is in cache anyway: does it run this service? (spread and anti-affinity want to know)
    if (collectRunning && state.allocations.length > 0 && cursor.replicasOfService > 0) collected.push(state);
    let failedAt = -1;
    for (let i = 0; i < tests.length; i++) {
      if (!(tests[i] as Predicate["test"])(cursor)) {
        failedAt = i;
        break;
      }
    }
    if (failedAt < 0) feasible.push(state);
    else {
      rejected.push(state);
      firstFailureCounts[failedAt] = (firstFailureCounts[failedAt] ?? 0) + 1;
    }
  }

  running ??= collected;

  const explainRejected = full || feasible.length === 0;
  const rejectedExplanations: NodeExplanation[] = explainRejected
    ? rejected.map((state) => ({
        nodeId: state.capabilities.nodeId,
        hostname: state.capabilities.hostname,
        feasible: false,
        failures: failuresOf(cursor.reset(state), staged),
      }))
    : [];
  const rejectedBy: Record<string, number> = {};
  if (explainRejected) {
    for (const n of rejectedExplanations)
      for (const f of n.failures) rejectedBy[f.predicate] = (rejectedBy[f.predicate] ?? 0) + 1;
  } else {
    staged.forEach((s, i) => {
      const count = firstFailureCounts[i] ?? 0;
      if (count > 0) rejectedBy[s.predicate.text] = (rejectedBy[s.predicate.text] ?? 0) + count;
    });
  }

  if (feasible.length === 0) {
    const failure: PlacementFailure = {
      ok: false,
      message: failureSentence(request.spec.name, staged, rejectedExplanations),
      explanation: {
        nodesEvaluated: nodes.length,
        nodesFeasible: 0,
        rejectedBy,
        nodes: rejectedExplanations,
      },
    };
    return failure;
  }

  // Scorers see the feasible nodes through a reusable view as well: nothing is allocated per node.
  const feasibleSet = nodeSetOf(feasible, who);

  // Scoring: only scorers with something to say take part; weights normalise the mean.
  const scorers: Array<{ name: string; weight: number; scorer: PreparedScorer }> = [];
  for (const plugin of scorerPlugins) {
    const weight = options.scorerWeights?.[plugin.name] ?? plugin.defaultWeight;
    if (!(weight > 0)) continue;
    const scorer = plugin.prepare(ctx, feasibleSet);
    if (scorer !== undefined) scorers.push({ name: plugin.name, weight, scorer });
  }
  const totalWeight = scorers.reduce((s, x) => s + x.weight, 0);
  const seed = seedOf(request);
  const scoreDetails = (node: NodeView): { details: ScoreDetail[]; final: number } => {
    const details = scorers.map(({ name, weight, scorer }) => ({
      scorer: name,
      score: clampScore(scorer.score(node)),
      weight,
    }));
    const final = totalWeight > 0 ? details.reduce((s, d) => s + d.score * d.weight, 0) / totalWeight : 0;
    return { details, final };
  };
  // The hot loop: no allocation per node, details are built only for nodes that are reported.
  const finalScore = (node: NodeView): number => {
    if (totalWeight === 0) return 0;
    let sum = 0;
    for (const { weight, scorer } of scorers) sum += clampScore(scorer.score(node)) * weight;
    return sum / totalWeight;
  };

  let best: NodeState | undefined;
  let bestScore = -Infinity;
  let bestHash: number | undefined;
  const feasibleExplanations: NodeExplanation[] = [];
  for (const state of feasible) {
    const node = cursor.reset(state);
    let final: number;
    if (full) {
      const detailed = scoreDetails(node);
      final = detailed.final;
      feasibleExplanations.push({
        nodeId: node.id,
        hostname: node.caps.hostname,
        feasible: true,
        failures: [],
        scores: detailed.details,
        finalScore: detailed.final,
      });
    } else final = finalScore(node);
    if (best === undefined || final > bestScore + TIE_EPSILON) {
      best = state;
      bestScore = final;
      bestHash = undefined;
    } else if (final >= bestScore - TIE_EPSILON) {
      // A tie: the request-seeded hash decides, so the same request on the same snapshot picks the same node.
      const bestId = best.capabilities.nodeId;
      bestHash ??= fnv1a(`${seed}\u0000${bestId}`);
      const hash = fnv1a(`${seed}\u0000${node.id}`);
      if (hash < bestHash || (hash === bestHash && node.id < bestId)) {
        best = state;
        bestScore = final;
        bestHash = hash;
      }
    }
  }
  const chosen = new NodeView(best as NodeState, who);
  const chosenScore = scoreDetails(chosen);
  const devices = assignDevices(request.spec, chosen);
  if (devices === undefined) {
    // The devices filter ran the same search; reaching this means a plugin broke the contract.
    throw new IotFogError("INTERNAL", `device assignment failed on ${chosen.id} after its filter passed`);
  }
  const chosenExplanation: NodeExplanation = {
    nodeId: chosen.id,
    hostname: chosen.caps.hostname,
    feasible: true,
    failures: [],
    scores: chosenScore.details,
    finalScore: chosenScore.final,
  };
  const explanation: Explanation = {
    nodesEvaluated: nodes.length,
    nodesFeasible: feasible.length,
    rejectedBy,
    nodes: full ? [...feasibleExplanations, ...rejectedExplanations] : [chosenExplanation],
  };
  return {
    ok: true,
    nodeId: chosen.id,
    devices,
    scores: chosenScore.details,
    finalScore: chosenScore.final,
    explanation,
  };
}

/**
 * An agent's own admission check before it starts a replica: would placement accept this node? The node is
 * taken as online, and the request's own reservation on the node does not count against it. On refusal the
 * message names the node: `pi-01 cannot run zigbee2mqtt: device zigbee (...)`.
 */
export function checkAdmission(
  spec: ServiceSpec,
  self: NodeState,
  request: Omit<PlacementRequest, "spec"> = {},
): PlacementDecision {
  const decision = place(
    { ...request, spec, excludeNodes: [] },
    { nodes: [{ ...self, online: true }] },
    { explain: "full" },
  );
  if (decision.ok) return decision;
  return {
    ...decision,
    message: decision.message.replace(
      /^no node satisfies: /,
      `${self.capabilities.nodeId} cannot run ${spec.name}: `,
    ),
  };
}

/** The error to throw (or send) for a failed decision: PLACEMENT_FAILED with the operator sentence. */
export function placementError(
  decision: PlacementFailure,
  code: "PLACEMENT_FAILED" | "ADMISSION_REFUSED" = "PLACEMENT_FAILED",
): IotFogError {
  return new IotFogError(code, decision.message, { explanation: decision.explanation });
}
