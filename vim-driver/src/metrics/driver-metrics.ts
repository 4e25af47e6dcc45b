import { Counter, Gauge, Histogram, Registry } from "prom-client";
import {
  IOTFOG_VERSION,
  LATENCY_BUCKETS_SECONDS,
  type AgentCallObserver,
  type PlacementDecision,
  type SettledCall,
} from "@openiotfog/shared";
import type { FleetNode } from "../fleet/types";

/** What the driver's metrics read when scraped. */
export interface DriverMetricSources {
  nodes: () => FleetNode[];
}

/** Which AMQP client reconnected: the VIM driver's plugin session or the VNFM's. */
export type AmqpClient = "plugin" | "vnfm";

/**
 * Why a replica could not be placed, in one word: `no_nodes` when no node was online, else the filter that
 * rejected the most nodes (`resources`, `devices`, `constraints`, ...), `taken` when every node that passed
 * the filters was used by the deployment's other replicas.
 */
export function placementFailureReason(decision: PlacementDecision): string {
  if (decision.ok) return "none";
  const { explanation } = decision;
  if (explanation.nodesEvaluated === 0) return "no_nodes";
  const byFilter = new Map<string, number>();
  for (const node of explanation.nodes) {
    for (const filter of new Set(node.failures.map((f) => f.filter))) {
      byFilter.set(filter, (byFilter.get(filter) ?? 0) + 1);
    }
  }
  let reason = "taken";
  let most = 0;
  for (const [filter, n] of [...byFilter].sort(([a], [b]) => a.localeCompare(b))) {
    if (n > most) {
      most = n;
      reason = filter;
    }
  }
  return reason;
}

/** The action of an Open Baton message (JSON with an `action` field), or `(invalid)`. */
export function actionOf(body: Buffer | Record<string, unknown> | null): string {
  let json: unknown = body;
  if (Buffer.isBuffer(body)) {
    try {
      json = JSON.parse(body.toString("utf8"));
    } catch {
      return "(invalid)";
    }
  }
  const action = (json as { action?: unknown } | null)?.action;
  return typeof action === "string" && /^[A-Z_]{1,64}$/.test(action) ? action : "(invalid)";
}

/**
 * The driver's Prometheus metrics (names and meanings: docs/metrics.md). Counters and histograms are raised
 * where things happen (through small hooks: the plugin dispatcher, the VNFM handler, the orchestrator's plan,
 * the agent clients, the AMQP manager loop); fleet figures are read from the fleet view when scraped.
 */
export class DriverMetrics {
  readonly registry = new Registry();
  private readonly obRequests: Counter<"method" | "outcome">;
  private readonly obSeconds: Histogram<"method" | "outcome">;
  private readonly vnfm: Counter<"action" | "direction">;
  private readonly placements: Counter<"outcome">;
  private readonly placementFailures: Counter<"reason">;
  private readonly amqpReconnects: Counter<"client">;
  private readonly rpcSeconds: Histogram<"command" | "outcome">;
  private readonly rpcRetries: Counter<"command">;
  private readonly imageCopies: Counter;
  private readonly imageBytes: Counter;

  /** For the agent clients (AgentPool): RPC latency, retries, image copies. */
  readonly agentCalls: AgentCallObserver = {
    settled: (call) => this.agentCallSettled(call),
    retried: (command) => this.rpcRetries.inc({ command }),
  };

  constructor(sources: DriverMetricSources) {
    const registers = [this.registry];
    this.obRequests = new Counter({
      name: "iotfog_openbaton_requests_total",
      help: "Open Baton VIM driver requests served, by method and outcome (ok, exception, invalid).",
      labelNames: ["method", "outcome"],
      registers,
    });
    this.obSeconds = new Histogram({
      name: "iotfog_openbaton_request_duration_seconds",
      help: "Time to serve an Open Baton VIM driver request, by method and outcome.",
      labelNames: ["method", "outcome"],
      buckets: [...LATENCY_BUCKETS_SECONDS],
      registers,
    });
    this.vnfm = new Counter({
      name: "iotfog_vnfm_messages_total",
      help: "Messages between the NFVO and the fog VNFM, by action and direction (in: from the NFVO).",
      labelNames: ["action", "direction"],
      registers,
    });
    this.placements = new Counter({
      name: "iotfog_placement_decisions_total",
      help: "Placement decisions for replicas, by outcome (placed, failed).",
      labelNames: ["outcome"],
      registers,
    });
    this.placementFailures = new Counter({
      name: "iotfog_placement_failures_total",
      help: "Replicas that could not be placed, by reason (the filter that rejected the most nodes, or no_nodes).",
      labelNames: ["reason"],
      registers,
    });
    this.amqpReconnects = new Counter({
      name: "iotfog_amqp_reconnects_total",
      help: "AMQP sessions with the NFVO's broker opened again after one ended, by client (plugin, vnfm).",
      labelNames: ["client"],
      registers,
    });
    this.rpcSeconds = new Histogram({
      name: "iotfog_agent_rpc_duration_seconds",
      help: "Time of a ZeroMQ call to an agent, retries included, by command and outcome (ok or the error code).",
      labelNames: ["command", "outcome"],
      buckets: [...LATENCY_BUCKETS_SECONDS],
      registers,
    });
    this.rpcRetries = new Counter({
      name: "iotfog_agent_rpc_retries_total",
      help: "ZeroMQ call attempts to agents after the first, by command.",
      labelNames: ["command"],
      registers,
    });
    this.imageCopies = new Counter({
      name: "iotfog_image_copies_total",
      help: "Images copied onto a node by the driver (from another node, or from the NFVO's copyImage).",
      registers,
    });
    this.imageBytes = new Counter({
      name: "iotfog_image_copy_bytes_total",
      help: "Bytes of image tarballs sent to nodes.",
      registers,
    });
    new Gauge({
      name: "iotfog_fleet_nodes",
      help: "Nodes known to the fleet view, by state (online, offline).",
      labelNames: ["state"],
      registers,
      collect() {
        const nodes = sources.nodes();
        const online = nodes.filter((n) => n.online).length;
        this.set({ state: "online" }, online);
        this.set({ state: "offline" }, nodes.length - online);
      },
    });
    new Gauge({
      name: "iotfog_fleet_containers",
      help: "Containers the online agents manage, from their heartbeats, by state (running, not_running).",
      labelNames: ["state"],
      registers,
      collect() {
        let total = 0;
        let running = 0;
        for (const n of sources.nodes()) {
          if (!n.online || n.agentDeployments === undefined) continue;
          total += n.agentDeployments.total;
          running += n.agentDeployments.running;
        }
        this.set({ state: "running" }, running);
        this.set({ state: "not_running" }, total - running);
      },
    });
    new Gauge({
      name: "iotfog_driver_info",
      help: "Always 1; the driver's version as a label.",
      labelNames: ["version"],
      registers,
    }).set({ version: IOTFOG_VERSION }, 1);
    new Gauge({
      name: "process_resident_memory_bytes",
      help: "Resident memory of the driver process.",
      registers,
      collect() {
        this.set(process.memoryUsage.rss());
      },
    });
    new Gauge({
      name: "process_start_time_seconds",
      help: "When the driver process started, seconds since the epoch.",
      registers,
    }).set(Math.round(Date.now() / 1000 - process.uptime()));
  }

  /** One Open Baton request answered (the dispatcher's hook). */
  openbatonRequest(method: string, outcome: "ok" | "exception" | "invalid", seconds: number): void {
    this.obRequests.inc({ method, outcome });
    this.obSeconds.observe({ method, outcome }, seconds);
  }

  vnfmMessage(action: string, direction: "in" | "out"): void {
    this.vnfm.inc({ action, direction });
  }

  /** The replicas of one plan (the orchestrator's hook): each placed or failed, failures by reason. */
  planned(replicas: ReadonlyArray<{ decision: PlacementDecision }>): void {
    for (const { decision } of replicas) {
      this.placements.inc({ outcome: decision.ok ? "placed" : "failed" });
      if (!decision.ok) this.placementFailures.inc({ reason: placementFailureReason(decision) });
    }
  }

  amqpReconnect(client: AmqpClient): void {
    this.amqpReconnects.inc({ client });
  }

  private agentCallSettled(call: SettledCall): void {
    this.rpcSeconds.observe({ command: call.command, outcome: call.outcome }, call.seconds);
    if (call.outcome !== "ok") return;
    if (call.command === "images.import.chunk") this.imageBytes.inc(call.sentBytes);
    if (call.command === "images.import.commit") this.imageCopies.inc();
  }
}
