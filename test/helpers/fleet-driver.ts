/**
 * The driver side's fleet parts without Open Baton or the API, in this process: fleet view, agent pool and the
 * orchestrator with its declared state and reconciler, as buildDriver wires them. For failover tests and the
 * failover benchmark, which need the orchestrator itself and a driver restart over the same state file.
 */
import { Lifecycle, createLogger } from "@openiotfog/shared";
import {
  AgentPool,
  createFleetView,
  FleetSecurity,
  createOrchestrator,
  driverConfigSchema,
  type DriverConfigInput,
  type EventLog,
  type FleetView,
  type Orchestrator,
} from "@openiotfog/vim-driver";
import { testFleetDir } from "./fleet";

export interface FleetDriver {
  view: FleetView;
  events: EventLog;
  pool: AgentPool;
  orchestrator: Orchestrator;
  stop(): Promise<void>;
}

export async function startFleetDriver(input: DriverConfigInput): Promise<FleetDriver> {
  // The test fleet's identity unless the caller names another: agents are reached over CurveZMQ as in production.
  const config = driverConfigSchema.parse({ security: { dir: testFleetDir() }, ...input });
  const logger = createLogger({ component: "driver", silent: process.env.IOTFOG_TEST_VERBOSE !== "1" });
  const security = new FleetSecurity(config.security, logger);
  const { view, events } = createFleetView(config, logger);
  const pool = new AgentPool({
    node: (id) => view.node(id),
    requestTimeoutMs: config.agents.requestTimeoutMs,
    attempts: config.agents.attempts,
    logger,
    curveKeys: (nodeId) => security.clientKeys(nodeId),
  });
  const orchestrator = createOrchestrator(config, { view, events }, pool, logger);
  const lifecycle = new Lifecycle([security, view, pool, orchestrator.reconciler], logger);
  await lifecycle.start();
  return { view, events, pool, orchestrator, stop: () => lifecycle.stop() };
}
