import os from "node:os";
import {
  EXPOSITION_CONTENT_TYPE,
  Exposition,
  IOTFOG_VERSION,
  LATENCY_BUCKETS_SECONDS,
  LabelledCounter,
  LabelledHistogram,
  isIotFogError,
  renderLabels,
  type Device,
  type LiveResources,
  type MetricsSource,
} from "@openiotfog/shared";
import type { CommandHandlers } from "../endpoint/server";
import type { HardwareStats } from "../hardware/handler";
import type { ContainerSample } from "./container-usage";
import type { ReconcileAction } from "../deploy/manager";

/** What the agent's metrics read when scraped (all kept in memory by the parts that own them). */
export interface AgentMetricSources {
  nodeId: string;
  containers: () => ContainerSample[];
  live: () => Promise<LiveResources>;
  devices: () => readonly Device[];
  hardware: () => HardwareStats;
  /** MQTT connections made since start (the first one is not a reconnect). */
  mqttConnections: () => number;
}

/** Reconcile passes that act: a missing container re-created, a stopped one started, a deployment that failed. */

type Samples = Array<readonly [string, number]>;

const containerLabels = (s: ContainerSample): string =>
  renderLabels({
    deployment: s.deploymentId,
    service: s.service,
    replica: s.replica,
    container: s.containerName,
  });

/**
 * The agent's Prometheus metrics (names and meanings: docs/metrics.md), written in the text format by hand (see
 * shared/src/metrics/exposition.ts for why). Counters the agent raises itself (commands, reconcile actions) are
 * kept here; everything else is read at scrape time from what its owner already keeps, so a scrape costs no
 * engine call.
 */
export class AgentMetrics implements MetricsSource {
  readonly contentType = EXPOSITION_CONTENT_TYPE;
  private readonly commands = new LabelledCounter();
  private readonly commandSeconds = new LabelledHistogram(LATENCY_BUCKETS_SECONDS);
  private readonly reconcile = new LabelledCounter();
  private readonly startTime = Math.round(Date.now() / 1000 - process.uptime());
  private readonly info: string;

  constructor(private readonly sources: AgentMetricSources) {
    this.info = renderLabels({ node: sources.nodeId, version: IOTFOG_VERSION });
  }

  reconcileAction(action: ReconcileAction): void {
    this.reconcile.inc({ action });
  }

  /** The command handlers, each counted and timed. */
  wrapHandlers(handlers: CommandHandlers): CommandHandlers {
    const wrapped: Record<string, unknown> = {};
    for (const [command, handler] of Object.entries(handlers)) {
      const run = handler as (params: unknown, ctx: unknown) => Promise<unknown>;
      wrapped[command] = async (params: unknown, ctx: unknown) => {
        const started = performance.now();
        let outcome = "ok";
        try {
          return await run(params, ctx);
        } catch (e) {
          outcome = isIotFogError(e) ? e.code : "INTERNAL";
          throw e;
        } finally {
          this.commands.inc({ command, outcome });
          this.commandSeconds.observe({ command }, (performance.now() - started) / 1000);
        }
      };
    }
    return wrapped as CommandHandlers;
  }

  async metrics(): Promise<string> {
    const { sources } = this;
    const containers = sources.containers().map((s) => [containerLabels(s), s] as const);
    const per = (value: (s: ContainerSample) => number | undefined): Samples => {
      const out: Samples = [];
      for (const [labels, s] of containers) {
        const v = value(s);
        if (v !== undefined) out.push([labels, v]);
      }
      return out;
    };
    const live = await sources.live();
    const cpu = { user: 0, nice: 0, system: 0, idle: 0, irq: 0 };
    for (const c of os.cpus()) {
      cpu.user += c.times.user;
      cpu.nice += c.times.nice;
      cpu.system += c.times.sys;
      cpu.idle += c.times.idle;
      cpu.irq += c.times.irq;
    }
    const devices = new Map<string, number>();
    for (const d of sources.devices()) devices.set(d.class, (devices.get(d.class) ?? 0) + 1);
    const hardware = sources.hardware();
    const one = (v: number): Samples => [["", v]];

    return new Exposition()
      .family(
        "iotfog_container_cpu_seconds_total",
        "counter",
        "CPU time used by the container since it started, all cores.",
        per((s) => s.usage.cpuSeconds),
      )
      .family(
        "iotfog_container_cpu_cores",
        "gauge",
        "Cores the container kept busy on average between its last two readings.",
        per((s) => s.cpuCores),
      )
      .family(
        "iotfog_container_memory_working_set_bytes",
        "gauge",
        "Memory in use by the container less the page cache the kernel can drop (as docker stats shows it).",
        per((s) => s.usage.memoryBytes),
      )
      .family(
        "iotfog_container_memory_limit_bytes",
        "gauge",
        "The container's memory limit (the host's memory when it has none).",
        per((s) => s.usage.memoryLimitBytes),
      )
      .family(
        "iotfog_container_network_receive_bytes_total",
        "counter",
        "Bytes received on the container's network interfaces.",
        per((s) => s.usage.networkReceiveBytes),
      )
      .family(
        "iotfog_container_network_transmit_bytes_total",
        "counter",
        "Bytes sent on the container's network interfaces.",
        per((s) => s.usage.networkTransmitBytes),
      )
      .family(
        "iotfog_container_restarts_total",
        "counter",
        "Restarts of the container by the engine's restart policy.",
        per((s) => s.usage.restarts),
      )
      .family(
        "iotfog_container_last_seen_timestamp_seconds",
        "gauge",
        "When the container's figures were last read from the engine.",
        per((s) => s.at / 1000),
      )
      .family("iotfog_node_cpu_cores", "gauge", "CPU cores of the node.", one(live.cpuCores))
      .family(
        "iotfog_node_cpu_seconds_total",
        "counter",
        "CPU time of the node's cores summed, by mode (as the kernel counts it).",
        Object.entries(cpu).map(([mode, ms]) => [renderLabels({ mode }), ms / 1000] as const),
      )
      .family("iotfog_node_memory_total_bytes", "gauge", "Memory of the node.", one(live.memory.totalBytes))
      .family(
        "iotfog_node_memory_available_bytes",
        "gauge",
        "Memory available for new work (the kernel's MemAvailable).",
        one(live.memory.freeBytes),
      )
      .family(
        "iotfog_node_disk_total_bytes",
        "gauge",
        "Size of the filesystem holding the containers.",
        one(live.disk.totalBytes),
      )
      .family(
        "iotfog_node_disk_free_bytes",
        "gauge",
        "Free space on that filesystem.",
        one(live.disk.freeBytes),
      )
      .family("iotfog_node_load1", "gauge", "1-minute load average.", one(live.load[0]))
      .family("iotfog_node_load5", "gauge", "5-minute load average.", one(live.load[1]))
      .family("iotfog_node_load15", "gauge", "15-minute load average.", one(live.load[2]))
      .family(
        "iotfog_node_devices",
        "gauge",
        "Devices the node advertises, by class.",
        [...devices].map(([cls, n]) => [renderLabels({ class: cls }), n] as const),
      )
      .family(
        "iotfog_agent_commands_total",
        "counter",
        "Commands served on the ZeroMQ command endpoint, by command and outcome (ok or the error code).",
        this.commands.samples(),
      )
      .histogram(
        "iotfog_agent_command_duration_seconds",
        "Time to serve a command, by command.",
        this.commandSeconds,
      )
      .family(
        "iotfog_agent_reconcile_actions_total",
        "counter",
        "What the reconcile loop did to bring containers in line with the desired state, by action.",
        this.reconcile.samples(),
      )
      .family(
        "iotfog_agent_hardware_events_accepted_total",
        "counter",
        "Hardware events accepted (from listeners over ZeroMQ and from udev).",
        one(hardware.accepted),
      )
      .family(
        "iotfog_agent_hardware_events_rejected_total",
        "counter",
        "Hardware events rejected, by reason (frames, too_large, not_json, invalid, limit).",
        Object.entries(hardware.rejectedBy).map(([reason, n]) => [renderLabels({ reason }), n] as const),
      )
      .family(
        "iotfog_agent_mqtt_reconnects_total",
        "counter",
        "Connections to the MQTT broker after the first one.",
        one(Math.max(0, sources.mqttConnections() - 1)),
      )
      .family("iotfog_agent_info", "gauge", "Always 1; the node id and agent version as labels.", [
        [this.info, 1],
      ])
      .family(
        "process_resident_memory_bytes",
        "gauge",
        "Resident memory of the agent process.",
        one(process.memoryUsage.rss()),
      )
      .family(
        "process_start_time_seconds",
        "gauge",
        "When the agent process started, seconds since the epoch.",
        one(this.startTime),
      )
      .text();
  }
}
