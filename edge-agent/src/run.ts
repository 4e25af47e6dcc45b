// First: defers dockerode's heavy optional modules for whichever part of the agent loads dockerode first.
import "./runtime/defer-heavy";
import { createLogger, loadConfig, serveUntilSignal } from "@openiotfog/shared";
import { buildAgent } from "./agent";
import { agentConfigSchema, resolveAgentConfig } from "./config";
import { httpEnrollment, joinFleet } from "./security/join";

export interface JoinArgs {
  /** A join token from `iotfog fleet token create`. */
  token: string;
  /** The driver's fleet API URL. */
  server: string;
}

/**
 * Runs the agent from a configuration file until SIGINT/SIGTERM: `iotfog agent` and the lean entry point.
 * With `join`, the node enrolls first (its key pair is made here; only the public key is sent).
 */
export async function runAgentFromFile(configFile: string, join?: JoinArgs): Promise<void> {
  const config = resolveAgentConfig(loadConfig(agentConfigSchema, configFile));
  const logger = createLogger({
    component: "agent",
    level: config.log.level,
    format: config.log.format,
    defaultMeta: { nodeId: config.nodeId },
  });
  if (join !== undefined) {
    const answer = await joinFleet(
      { token: join.token, nodeId: config.nodeId, dir: config.security.dir },
      httpEnrollment(join.server),
    );
    logger.info(answer.reenrolled ? "re-enrolled in the fleet" : "enrolled in the fleet", {
      server: join.server,
      peers: answer.trust.peers.length,
      securityDir: config.security.dir,
    });
  }
  await serveUntilSignal(buildAgent(config, logger), logger);
}
