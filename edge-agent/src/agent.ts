import { mkdir } from "node:fs/promises";
import { KeepAlive, Lifecycle, errorMessage, type Component, type Logger } from "@openiotfog/shared";
import type { AgentConfig } from "./config";
import { DeploymentManager } from "./deploy/manager";
import { deployPipeline, type DeployFn } from "./deploy/pipeline";
import { CapabilityService } from "./discovery/service";
import { ServedEndpoints, advertisedAddress, advertisedUrl } from "./endpoint/address";
import { commandHandlers } from "./endpoint/handlers";
import { CommandEndpoint } from "./endpoint/server";
import { FleetContact } from "./fencing/contact";
import { Fencing } from "./fencing/fencing";
import { forwardCandidates } from "./forwarding/decide";
import { DeployForwarder } from "./forwarding/forwarder";
import type { HardwareEventEndpoint } from "./hardware/endpoint";
import type { HardwareEventHandler } from "./hardware/handler";
import { DeviceLeaseGate } from "./hardware/leases";
import { createHardwareParts } from "./hardware/parts";
import type { DeviceUsageTracker } from "./hardware/usage";
import { ImageTransfers } from "./images";
import { OperatorLabels } from "./labels/store";
import { AgentMetrics } from "./metrics/agent-metrics";
import { ContainerUsageSampler } from "./metrics/container-usage";
import { NodeCpuMeter, usageReport } from "./metrics/usage-report";
import type { EventBus } from "./monitoring/bus";
import { createMonitoring } from "./monitoring/monitoring";
import type { ZmqEventPublisher } from "./monitoring/zmq-publisher";
import { optionalPart } from "./optional-part";
import { MqttPresence } from "./presence/presence";
import { RestApiComponent } from "./rest/component";
import { NodeSecurity } from "./security/node-security";
import { defaultRuntimes, type RuntimeRegistry } from "./runtime/registry";
import type { ContainerRuntime } from "./runtime/runtime";
import { StateStore } from "./state/store";

/** The agent's events, hardware, forwarding and REST parts (docs/agent-events.md). */
export interface Operations {
  bus: EventBus;
  hardware: HardwareEventHandler;
  hardwareEndpoint: HardwareEventEndpoint;
  events: ZmqEventPublisher;
  tracker: DeviceUsageTracker;
  forwarder: DeployForwarder;
  /** The deploy pipeline (deploy/pipeline.ts), as the command endpoint and REST call it. */
  deploy: DeployFn;
  /** The REST API's URL once started (undefined when disabled). */
  restUrl: () => string | undefined;
  /** Every address this agent serves, for status, logs and the MQTT presence. */
  endpoints: ServedEndpoints["all"];
}

/** The agent's parts, for the composition root and for tests and tools that need to reach one. */
export interface Agent {
  lifecycle: Lifecycle;
  runtime: ContainerRuntime;
  capabilities: CapabilityService;
  deployments: DeploymentManager;
  images: ImageTransfers;
  endpoint: CommandEndpoint;
  presence: MqttPresence;
  /** Operator labels set at run time (`labels.set`), kept in the data directory. */
  labels: OperatorLabels;
  /** Hardware events, monitoring, local REST API, forwarding (docs/agent-events.md). */
  ops: Operations;
  /** Prometheus metrics (docs/metrics.md) and the containers' resource use they read. */
  metrics: AgentMetrics;
  containerUsage: ContainerUsageSampler;
  /** The node's keys and trust list (docs/security.md). */
  security: NodeSecurity;
}

function dataDirComponent(dir: string): Component {
  return {
    name: "data-dir",
    start: async () => void (await mkdir(dir, { recursive: true, mode: 0o700 })),
    stop: async () => undefined,
  };
}

/**
 * Wires the agent; each part is built after the parts it uses. The addresses the agent serves are known only
 * once their sockets are built, so the MQTT presence reads them from `served`, filled in as they are.
 * Start order is the offline-first order: local state and containers first (no network needed), then the
 * command endpoint, then MQTT; stop runs in reverse, so the goodbye is said first.
 */
export function createAgent(
  config: AgentConfig,
  logger: Logger,
  runtimes: RuntimeRegistry = defaultRuntimes(),
): Agent {
  const log = (part: string): Logger => logger.child({ part });
  const startedAt = Date.now();
  const security = new NodeSecurity(
    { nodeId: config.nodeId, mode: config.security.mode, dir: config.security.dir },
    log("security"),
  );
  const runtime = runtimes.create(config.runtime.name, config, log("runtime"));
  const capabilities = new CapabilityService(config, runtime, log("capabilities"));
  const store = new StateStore(config.dataDir, config.nodeId, log("state"));
  const labels = new OperatorLabels(
    config.dataDir,
    config.nodeId,
    config.labels,
    (effective) => capabilities.setLabels(effective),
    log("labels"),
  );
  const deployments = new DeploymentManager(config, runtime, store, capabilities, log("deployments"));
  const fleetContact = new FleetContact(config.dataDir, log("fencing"));
  const fencing = new Fencing(fleetContact, deployments, log("fencing"));
  const containerUsage = new ContainerUsageSampler(
    runtime,
    {
      intervalMs: config.metrics.containerIntervalMs,
      timeoutMs: config.metrics.containerTimeoutMs,
      maxContainers: config.metrics.maxContainers,
    },
    log("container-usage"),
  );

  const served = new ServedEndpoints();
  const presence = new MqttPresence({
    config,
    capabilities,
    endpoint: () => served.command(),
    endpoints: () => served.all(),
    deployments: () => deployments.summary(),
    logger: log("presence"),
    security,
  });
  deployments.observe({ event: (type, data) => presence.publishEvent(type, data) });
  capabilities.on("devices", (changes) => {
    for (const d of changes.added) presence.publishEvent("device.added", { device: d });
    for (const d of changes.removed) presence.publishEvent("device.removed", { device: d });
  });
  const cpuMeter = new NodeCpuMeter();
  containerUsage.onPass = () =>
    void capabilities
      .live()
      .then((live) =>
        presence.publishUsage(
          usageReport(
            containerUsage.current(),
            live,
            cpuMeter.busyCores(),
            config.metrics.containerIntervalMs,
          ),
        ),
      )
      .catch((e: unknown) => logger.debug("usage report failed", { error: errorMessage(e) }));

  const monitoring = createMonitoring(config, presence, logger, security);
  const { bus } = monitoring;
  const hardware = createHardwareParts(config, capabilities, deployments, bus, logger, security);

  // The deploy pipeline: lease → admission → forward or run → state → container (deploy/pipeline.ts).
  const forwarder = new DeployForwarder({
    selfNodeId: config.nodeId,
    config: config.forwarding,
    peers: () => forwardCandidates(presence.peers.list()),
    bus,
    logger: log("forwarding"),
    security,
  });
  const deploy = deployPipeline({
    selfNodeId: config.nodeId,
    local: (p) => deployments.deploy(p),
    leases: new DeviceLeaseGate(),
    forwarder,
    bus,
  });

  const metrics = new AgentMetrics({
    nodeId: config.nodeId,
    containers: () => containerUsage.current(),
    live: () => capabilities.live(),
    devices: () => capabilities.current().devices,
    hardware: () => hardware.handler.getStats(),
    mqttConnections: (): number => presence.connections,
  });
  deployments.observe({ reconcileAction: (action) => metrics.reconcileAction(action) });

  const images = new ImageTransfers(
    config.dataDir,
    runtime,
    Math.min(config.zmq.maxAttachmentBytes, 1024 * 1024),
    log("images"),
  );
  const endpoint = new CommandEndpoint(
    {
      bind: config.zmq.bind,
      ...(config.zmq.advertise !== undefined ? { advertise: config.zmq.advertise } : {}),
      maxEnvelopeBytes: config.zmq.maxEnvelopeBytes,
      maxAttachmentBytes: config.zmq.maxAttachmentBytes,
      replyCacheMs: config.zmq.replyCacheMs,
      clockSkewToleranceMs: config.zmq.clockSkewToleranceMs,
      maxInFlight: config.zmq.maxInFlight,
      security,
    },
    metrics.wrapHandlers(
      commandHandlers({
        nodeId: config.nodeId,
        startedAt,
        capabilities,
        deployments,
        deploy,
        runtime,
        images,
        labels,
        hostPolicy: config.hostPolicy,
        security,
        fleetContact,
      }),
    ),
    log("endpoint"),
  );

  const rest = new RestApiComponent(
    config,
    {
      nodeId: config.nodeId,
      startedAt,
      capabilities,
      deployments,
      runtime,
      deploy,
      bus,
      hardwareStats: () => hardware.handler.getStats(),
      tracker: hardware.tracker,
      peers: () =>
        presence.peers.list().map((p) => ({
          nodeId: p.nodeId,
          state: p.state,
          lastSeen: p.lastSeen,
          ...(p.endpoint === undefined ? {} : { endpoint: p.endpoint }),
        })),
      endpoints: () => served.all(),
      defaultHopLimit: config.forwarding.hopLimit,
    },
    metrics,
    log("rest"),
  );

  // Only what is actually served: an auxiliary endpoint that could not bind is left out.
  served.commands(() => endpoint.advertise);
  served.add("hardwareEvents", () =>
    hardware.endpoint.endpoint === ""
      ? undefined
      : (config.hardware.advertise ?? advertisedAddress(hardware.endpoint.endpoint)),
  );
  served.add("events", () =>
    monitoring.events.endpoint === ""
      ? undefined
      : (config.monitoring.pubAdvertise ?? advertisedAddress(monitoring.events.endpoint)),
  );
  served.add("rest", () =>
    rest.url === undefined ? undefined : (config.rest.advertise ?? advertisedUrl(rest.url)),
  );

  const lifecycle = new Lifecycle(
    [
      dataDirComponent(config.dataDir),
      // First: every ZeroMQ socket below needs the node's keys and trust list to open.
      security,
      // Before discovery, so the first capability document already carries the operators' labels.
      labels,
      ...monitoring.early,
      capabilities,
      images,
      // Before the deployments: their start fences what the node's silence says before re-adopting anything.
      fleetContact,
      deployments,
      fencing,
      containerUsage,
      endpoint,
      presence,
      ...monitoring.late,
      ...hardware.late,
      forwarder,
      optionalPart(rest, logger),
      // The hardware, events and REST endpoints are bound by now: the retained presence lists them.
      { name: "presence-endpoints", start: () => presence.announceEndpoints(), stop: async () => undefined },
      new KeepAlive(),
    ],
    logger,
  );
  return {
    lifecycle,
    runtime,
    capabilities,
    deployments,
    images,
    endpoint,
    presence,
    labels,
    ops: {
      bus,
      hardware: hardware.handler,
      hardwareEndpoint: hardware.endpoint,
      events: monitoring.events,
      tracker: hardware.tracker,
      forwarder,
      deploy,
      restUrl: () => rest.url,
      endpoints: () => served.all(),
    },
    metrics,
    containerUsage,
    security,
  };
}

/** Composition root of the edge agent (`iotfog agent`, `iotfog up`). */
export function buildAgent(config: AgentConfig, logger: Logger): Lifecycle {
  logger.info("agent configured", {
    nodeId: config.nodeId,
    dataDir: config.dataDir,
    mqtt: config.mqtt.url,
    security: config.security.mode === "curve" ? "curve" : "INSECURE (security.mode: insecure)",
  });
  return createAgent(config, logger).lifecycle;
}
