import { KeepAlive, Lifecycle, type Component, type Logger } from "@openiotfog/shared";
import type { DriverConfig } from "./config";
import { buildOperatorSurfaces } from "./api/surfaces";
import { AgentPool } from "./fleet/agents";
import { LiveFleet } from "./openbaton/fleet/live-fleet";
import { PluginServer } from "./openbaton/plugin-server";
import { VimService } from "./openbaton/vim-service";
import { buildVnfm } from "./vnfm";

/** Composition root of the driver side: wires its components in start order. */
export function buildDriver(config: DriverConfig, logger: Logger): Lifecycle {
  logger.info("driver configured", { mqtt: config.mqtt.url, openbaton: config.openbaton.enabled });
  const components: Component[] = [new KeepAlive()];
  const fleet = new LiveFleet(
    {
      url: config.mqtt.url,
      username: config.mqtt.username,
      password: config.mqtt.password,
      topicPrefix: config.mqtt.topicPrefix,
      nodeExpiryMs: config.fleet.nodeExpiryMs,
    },
    logger.child({ part: "fleet" }),
  );
  const agents = new AgentPool({
    node: (nodeId) => fleet.asFleetNode(nodeId),
    requestTimeoutMs: config.agents.requestTimeoutMs,
    attempts: config.agents.attempts,
    logger: logger.child({ part: "agents" }),
  });
  components.push(fleet, agents);
  // Fleet REST API, web GUI and the Open-Baton-independent deploy path (docs/operator.md).
  if (config.api.enabled) components.push(...buildOperatorSurfaces(config, agents, logger).components);
  const service = new VimService(config, fleet, agents, logger.child({ part: "vim" }));
  if (config.openbaton.enabled) {
    const ob = config.openbaton;
    components.push(
      new PluginServer(
        {
          brokerUrl: ob.brokerUrl,
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
        },
        service,
        logger.child({ part: "openbaton" }),
      ),
    );
  }
  if (config.vnfm.enabled) {
    // The fog VNFM shares the broker settings, the fleet and the VimService (the same launch path).
    components.push(...buildVnfm(config, { vim: service, fleet, agents }, logger).components);
  }
  return new Lifecycle(components, logger);
}
