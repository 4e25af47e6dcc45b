import { mkdir } from "node:fs/promises";
import { KeepAlive, Lifecycle, type Component, type Logger } from "@openiotfog/shared";
import type { AgentConfig } from "./config";
import { DeploymentManager } from "./deployments";
import { CapabilityService } from "./discovery/service";
import { commandHandlers } from "./endpoint/handlers";
import { CommandEndpoint } from "./endpoint/server";
import { ImageTransfers } from "./images";
import { OperatorLabels } from "./labels/store";
import { AgentMetrics } from "./metrics/agent-metrics";
import { ContainerUsageSampler } from "./metrics/container-usage";
import { createOperations, type Operations } from "./monitoring/operations";
import { MqttPresence } from "./presence/presence";
import { defaultRuntimes, type RuntimeRegistry } from "./runtime/registry";
import type { ContainerRuntime } from "./runtime/runtime";
import { StateStore } from "./state/store";

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
}

function dataDirComponent(dir: string): Component {
  return {
    name: "data-dir",
    start: async () => void (await mkdir(dir, { recursive: true, mode: 0o700 })),
    stop: async () => undefined,
  };
}

/**
 * Wires the agent. Start order is the offline-first order: local state and containers first (no network
 * needed), then the command endpoint, then MQTT; stop runs in reverse, so the goodbye is said first.
 */
export function createAgent(
  config: AgentConfig,
  logger: Logger,
  runtimes: RuntimeRegistry = defaultRuntimes(),
): Agent {
  const startedAt = Date.now();
  const runtime = runtimes.create(config.runtime.name, config, logger.child({ part: "runtime" }));
  const capabilities = new CapabilityService(config, runtime, logger.child({ part: "capabilities" }));
  const store = new StateStore(config.dataDir, config.nodeId, logger.child({ part: "state" }));
  const labels = new OperatorLabels(
    config.dataDir,
    config.nodeId,
    config.labels,
    (effective) => capabilities.setLabels(effective),
    logger.child({ part: "labels" }),
  );
  const deployments = new DeploymentManager(
    config,
    runtime,
    store,
    capabilities,
    logger.child({ part: "deployments" }),
    (type, data) => presence.publishEvent(type, data),
  );
  const containerUsage = new ContainerUsageSampler(
    runtime,
    {
      intervalMs: config.metrics.containerIntervalMs,
      timeoutMs: config.metrics.containerTimeoutMs,
      maxContainers: config.metrics.maxContainers,
    },
    logger.child({ part: "container-usage" }),
  );
  const metrics = new AgentMetrics({
    nodeId: config.nodeId,
    containers: () => containerUsage.current(),
    live: () => capabilities.live(),
    devices: () => capabilities.current().devices,
    hardware: () => ops.hardware.getStats(),
    mqttConnections: (): number => presence.connections,
  });
  deployments.onReconcileAction = (action) => metrics.reconcileAction(action);
  const ops = createOperations({
    config,
    logger,
    startedAt,
    runtime,
    capabilities,
    deployments,
    presence: () => presence,
    commandEndpoint: () => endpoint.advertise,
    metrics,
  });
  const images = new ImageTransfers(
    config.dataDir,
    runtime,
    Math.min(config.zmq.maxAttachmentBytes, 1024 * 1024),
    logger.child({ part: "images" }),
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
    },
    metrics.wrapHandlers(
      ops.wrapHandlers(
        commandHandlers({
          nodeId: config.nodeId,
          startedAt,
          capabilities,
          deployments,
          runtime,
          images,
          labels,
          hostPolicy: config.hostPolicy,
        }),
      ),
    ),
    logger.child({ part: "endpoint" }),
  );
  const presence = new MqttPresence({
    config,
    capabilities,
    endpoint: () => endpoint.advertise,
    endpoints: () => ops.endpoints(),
    deployments: () => deployments.summary(),
    logger: logger.child({ part: "presence" }),
  });
  capabilities.on("devices", (changes) => {
    for (const d of changes.added) presence.publishEvent("device.added", { device: d });
    for (const d of changes.removed) presence.publishEvent("device.removed", { device: d });
  });
  const lifecycle = new Lifecycle(
    [
      dataDirComponent(config.dataDir),
      // Before discovery, so the first capability document already carries the operators' labels.
      labels,
      ...ops.early,
      capabilities,
      images,
      deployments,
      containerUsage,
      endpoint,
      presence,
      ...ops.late,
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
    ops,
    metrics,
    containerUsage,
  };
}

/** Composition root of the edge agent (`iotfog agent`, `iotfog up`). */
export function buildAgent(config: AgentConfig, logger: Logger): Lifecycle {
  logger.info("agent configured", { nodeId: config.nodeId, dataDir: config.dataDir, mqtt: config.mqtt.url });
  return createAgent(config, logger).lifecycle;
}
