import { KeepAlive, Lifecycle, type Logger } from "@openiotfog/shared";
import type { AgentConfig } from "./config";

/** Composition root of the edge agent: wires its components in start order. */
export function buildAgent(config: AgentConfig, logger: Logger): Lifecycle {
  logger.info("agent configured", { nodeId: config.nodeId, dataDir: config.dataDir, mqtt: config.mqtt.url });
  return new Lifecycle([new KeepAlive()], logger);
}
