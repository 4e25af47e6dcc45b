import { IotFogError, type Component, type Logger } from "@openiotfog/shared";
import type { DriverConfig } from "../config";
import type { AgentPool } from "../fleet/agents";
import { EventLog } from "../fleet/events";
import { FleetView } from "../fleet/fleet-view";
import { Orchestrator } from "../fleet/orchestrator";
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
 * The agent protocol has no command to change operator labels yet, so a label change is refused with a clear
 * 501 instead of being applied only on the driver side (the agent's own admission check would disagree).
 */
const labelsNotSupported: LabelWriter = async (nodeId) => {
  throw new IotFogError(
    "UNSUPPORTED",
    `node "${nodeId}": agents do not accept label changes over the protocol yet; set \`labels:\` in the agent's configuration and restart it`,
  );
};

export function buildOperatorSurfaces(
  config: DriverConfig,
  agents: AgentPool,
  logger: Logger,
  opts: { writeLabels?: LabelWriter } = {},
): OperatorSurfaces {
  const events = new EventLog();
  const view = new FleetView({
    mqttUrl: config.mqtt.url,
    username: config.mqtt.username,
    password: config.mqtt.password,
    topicPrefix: config.mqtt.topicPrefix,
    nodeExpiryMs: config.fleet.nodeExpiryMs,
    events,
    logger: logger.child({ part: "fleet-view" }),
  });
  const orchestrator = new Orchestrator({
    fleet: view,
    agents,
    events,
    logger: logger.child({ part: "orchestrator" }),
    requestTimeoutMs: config.agents.requestTimeoutMs,
    deployTimeoutMs: config.agents.deployTimeoutMs,
    imageTransferTimeoutMs: config.agents.imageTransferTimeoutMs,
  });
  const token = resolveApiToken(config.api, logger);
  const api = new ApiServer({
    host: config.api.host,
    port: config.api.port,
    token,
    gui: config.api.gui,
    service: fleetService({
      view,
      orchestrator,
      events,
      writeLabels: opts.writeLabels ?? labelsNotSupported,
      logger,
    }),
    logger: logger.child({ part: "api" }),
  });
  return { components: [view, api], view, orchestrator, events, api, token };
}
