// First: defers dockerode's heavy optional modules for whichever part of the agent loads dockerode first.
import "./runtime/defer-heavy";
import { createLogger, loadConfig, serveUntilSignal } from "@openiotfog/shared";
import { buildAgent } from "./agent";
import { agentConfigSchema, resolveAgentConfig } from "./config";

/** Runs the agent from a configuration file until SIGINT/SIGTERM: `iotfog agent` and the lean entry point. */
export async function runAgentFromFile(configFile: string): Promise<void> {
  const config = resolveAgentConfig(loadConfig(agentConfigSchema, configFile));
  const logger = createLogger({
    component: "agent",
    level: config.log.level,
    format: config.log.format,
    defaultMeta: { nodeId: config.nodeId },
  });
  await serveUntilSignal(buildAgent(config, logger), logger);
}
