import { KeepAlive, Lifecycle, type Component, type Logger } from "@openiotfog/shared";
import type { DriverConfig } from "./config";
import { buildOperatorSurfaces, createFleetView, createOrchestrator } from "./api/surfaces";
import { resolveApiToken } from "./api/server";
import { DriverMetrics } from "./metrics/driver-metrics";
import { MetricsServer, driverMetricsHandler, driverScrapeTokens } from "./metrics/server";
import { AgentPool } from "./fleet/agents";
import type { Orchestrator } from "./fleet/orchestrator";
import { LiveFleet } from "./openbaton/fleet/live-fleet";
import { PluginServer } from "./openbaton/plugin-server";
import { readBrokerCa } from "./openbaton/registration";
import { VimService } from "./openbaton/vim-service";
import { FleetSecurity } from "./security/fleet-security";
import { MosquittoSync } from "./security/mosquitto-files";
import { TrustDistributor } from "./security/trust-distributor";
import { buildVnfm } from "./vnfm";

/** Composition root of the driver side: wires its components in start order. */
export function buildDriver(config: DriverConfig, logger: Logger): Lifecycle {
  logger.info("driver configured", {
    mqtt: config.mqtt.url,
    openbaton: config.openbaton.enabled,
    security: config.security.mode === "curve" ? "curve" : "INSECURE (security.mode: insecure)",
  });
  const security = new FleetSecurity(config.security, logger.child({ part: "security" }));
  const components: Component[] = [new KeepAlive(), security];
  // One FleetView and one Orchestrator serve the API, the VIM service and the VNFM.
  const shared = createFleetView(config, logger, security);
  const metrics = new DriverMetrics({ nodes: () => shared.view.nodes() });
  const agents = new AgentPool({
    observer: metrics.agentCalls,
    node: (nodeId) => shared.view.node(nodeId),
    requestTimeoutMs: config.agents.requestTimeoutMs,
    attempts: config.agents.attempts,
    logger: logger.child({ part: "agents" }),
    curveKeys: (nodeId) => security.clientKeys(nodeId),
  });
  const trust = new TrustDistributor({
    security,
    agents,
    online: () =>
      shared.view
        .nodes()
        .filter((n) => n.online)
        .map((n) => n.nodeId),
    onFleetChange: (listener) => shared.view.onChange(listener),
    logger: logger.child({ part: "trust" }),
  });
  const mosquitto = config.security.mosquitto;
  if (security.enabled && mosquitto !== undefined) {
    // Before the fleet view: a broker that reloads its password file knows the driver by then.
    components.push(
      new MosquittoSync({
        identity: () => security.identity,
        onChange: (listener) => security.onChange(listener),
        dir: mosquitto.dir,
        prefix: config.mqtt.topicPrefix,
        pidFile: mosquitto.pidFile,
        logger: logger.child({ part: "mosquitto" }),
      }),
    );
  }
  components.push(shared.view, agents, trust);
  let orchestrator: Orchestrator;
  if (config.api.enabled) {
    // Fleet REST API, web GUI and the Open-Baton-independent deploy path (docs/operator.md).
    const surfaces = buildOperatorSurfaces(config, agents, logger, {
      fleet: shared,
      metrics,
      security: { security, trust },
    });
    components.push(...surfaces.components);
    orchestrator = surfaces.orchestrator;
  } else {
    orchestrator = createOrchestrator(config, shared, agents, logger, metrics);
    const listen = config.metrics.listen;
    if (config.metrics.enabled && listen !== undefined) {
      const tokens = [resolveApiToken(config.api, logger), ...driverScrapeTokens(config.metrics)];
      const handler = driverMetricsHandler(metrics.registry, tokens, () => shared.view.nodes());
      components.push(
        new MetricsServer(handler, listen.host, listen.port, logger.child({ part: "metrics" })),
      );
    }
  }
  // Declared vs observed, continuously: re-places replicas of lost nodes, restarts, removes what is not declared.
  components.push(orchestrator.reconciler);
  const fleet = new LiveFleet(shared.view);
  const service = new VimService(config, fleet, agents, orchestrator, logger.child({ part: "vim" }));
  // Removes what is owed to nodes that were offline (HEAL / delete while a node was away) when they are back.
  components.push(service.returningNodes);
  if (config.openbaton.enabled) {
    const ob = config.openbaton;
    components.push(
      new PluginServer(
        {
          brokerUrl: ob.brokerUrl,
          ca: readBrokerCa(ob.caFile),
          vhost: ob.vhost,
          heartbeatSeconds: ob.heartbeatSeconds,
          registrationUser: ob.registrationUser,
          registrationPassword: ob.registrationPassword,
          type: ob.type,
          name: ob.name,
          workers: ob.workers,
          registrationTimeoutMs: ob.registrationTimeoutMs,
          retryInitialMs: ob.retryInitialMs,
          retryMaxMs: ob.retryMaxMs,
          nfvoWatchMs: ob.nfvoWatchMs,
          shutdownGraceMs: ob.shutdownGraceMs,
          managementUrl: ob.managementUrl,
          onRequest: (method, outcome, seconds) => metrics.openbatonRequest(method, outcome, seconds),
          onReconnect: () => metrics.amqpReconnect("plugin"),
        },
        service,
        logger.child({ part: "openbaton" }),
      ),
    );
  }
  if (config.vnfm.enabled) {
    // The fog VNFM shares the broker settings, the fleet and the VimService (the same launch path).
    components.push(
      ...buildVnfm(config, { vim: service, fleet, agents, events: shared.events, metrics }, logger)
        .components,
    );
  }
  return new Lifecycle(components, logger);
}
