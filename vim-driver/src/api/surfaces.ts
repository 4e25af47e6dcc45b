import path from "node:path";
import { resolveMqttConnection, type Component, type Logger } from "@openiotfog/shared";
import type { DriverConfig } from "../config";
import type { AgentPool } from "../fleet/agents";
import { EventLog } from "../fleet/events";
import { FleetView } from "../fleet/fleet-view";
import { DeclaredState, FileDeclaredStateStore } from "../fleet/declared";
import { ImagePlatforms } from "../fleet/image-platforms";
import { agentLabelWriter } from "../fleet/labels";
import { Orchestrator } from "../fleet/orchestrator";
import type { DriverMetrics } from "../metrics/driver-metrics";
import { driverMetricsHandler, driverScrapeTokens } from "../metrics/server";
import type { FleetSecurity } from "../security/fleet-security";
import { FleetMessageVerifier } from "../security/message-verifier";
import type { SecuritySurface } from "./security-routes";
import { ApiServer, resolveApiToken } from "./server";
import { fleetService, type LabelWriter } from "./service";

/** The operator surfaces of the driver side: fleet view with events, orchestrator, REST API and GUI. */
export interface OperatorSurfaces {
  components: Component[];
  view: FleetView;
  orchestrator: Orchestrator;
  events: EventLog;
  api: ApiServer;
  token: string;
}

/**
 * The fleet view of the driver side, with the event log it reports to (one per process, shared by all). With
 * the fleet's security on, it logs in with the driver's fleet credentials and believes only messages signed by
 * the enrolled nodes.
 */
export function createFleetView(
  config: DriverConfig,
  logger: Logger,
  security?: FleetSecurity,
): { view: FleetView; events: EventLog } {
  const events = new EventLog();
  const secure = security?.enabled === true ? security : undefined;
  const verifier = secure === undefined ? undefined : new FleetMessageVerifier(() => secure.identity);
  const view = new FleetView({
    mqttUrl: config.mqtt.url,
    connection: () => resolveMqttConnection(config.mqtt, secure?.identity.driverMqttCredentials),
    ...(verifier === undefined
      ? {}
      : { authenticate: (kind, nodeId, raw) => verifier.authenticate(kind, nodeId, raw) }),
    topicPrefix: config.mqtt.topicPrefix,
    nodeExpiryMs: config.fleet.nodeExpiryMs,
    events,
    logger: logger.child({ part: "fleet-view" }),
  });
  return { view, events };
}

/** The orchestrator of the driver side over its fleet view (one per process: API, VIM service and VNFM). */
export function createOrchestrator(
  config: DriverConfig,
  fleet: { view: FleetView; events: EventLog },
  agents: AgentPool,
  logger: Logger,
  metrics?: DriverMetrics,
): Orchestrator {
  const log = logger.child({ part: "declared-state" });
  const declared = new DeclaredState(new FileDeclaredStateStore(declaredStateFile(config), log), log);
  return new Orchestrator({
    ...(metrics === undefined ? {} : { onPlan: (replicas) => metrics.planned(replicas) }),
    fleet: fleet.view,
    agents,
    declared,
    events: fleet.events,
    logger: logger.child({ part: "orchestrator" }),
    images: new ImagePlatforms({
      fleet: fleet.view,
      agents,
      logger: logger.child({ part: "image-platforms" }),
      requestTimeoutMs: config.agents.requestTimeoutMs,
    }),
    requestTimeoutMs: config.agents.requestTimeoutMs,
    deployTimeoutMs: config.agents.deployTimeoutMs,
    imageTransferTimeoutMs: config.agents.imageTransferTimeoutMs,
    reconcileIntervalMs: config.fleet.reconcileIntervalMs,
    startupSettleMs: config.fleet.nodeExpiryMs,
  });
}

/** The declared-state file: configured, or one per fleet (topic prefix) under `.iotfog/` of the working directory. */
export function declaredStateFile(config: DriverConfig): string {
  const fleetName = config.mqtt.topicPrefix.replace(/[^A-Za-z0-9_-]/g, "_");
  return config.fleet.stateFile ?? path.resolve(".iotfog", `fleet-${fleetName}.json`);
}

/** Wires the orchestrator and the API server over the process's shared fleet view (its owner starts it). */
export function buildOperatorSurfaces(
  config: DriverConfig,
  agents: AgentPool,
  logger: Logger,
  opts: {
    fleet: { view: FleetView; events: EventLog };
    writeLabels?: LabelWriter;
    /** Served at /metrics on the API's listener (with config.metrics.enabled). */
    metrics?: DriverMetrics;
    security?: SecuritySurface;
  },
): OperatorSurfaces {
  const { view, events } = opts.fleet;
  const orchestrator = createOrchestrator(config, { view, events }, agents, logger, opts.metrics);
  const token = resolveApiToken(config.api, logger);
  const metrics =
    opts.metrics !== undefined && config.metrics.enabled
      ? driverMetricsHandler(opts.metrics.registry, [token, ...driverScrapeTokens(config.metrics)], () =>
          view.nodes(),
        )
      : undefined;
  const api = new ApiServer({
    host: config.api.host,
    port: config.api.port,
    tls: config.api.tls,
    insecurePlainHttp: config.api.insecurePlainHttp,
    token,
    gui: config.api.gui,
    ...(metrics === undefined ? {} : { metrics }),
    service: fleetService({
      view,
      orchestrator,
      events,
      // Label changes go to the node's agent, which keeps them and republishes its capabilities.
      writeLabels:
        opts.writeLabels ??
        agentLabelWriter({
          agents,
          view,
          settleMs: config.agents.requestTimeoutMs,
          logger: logger.child({ part: "labels" }),
        }),
      logger,
    }),
    logger: logger.child({ part: "api" }),
    ...(opts.security === undefined ? {} : { security: opts.security }),
  });
  return { components: [api], view, orchestrator, events, api, token };
}
