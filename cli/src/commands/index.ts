import type { Command } from "commander";
import { registerDeployCommands } from "./deploy";
import { registerFleetCommands } from "./fleet";
import { registerNodeCommands } from "./nodes";
import { registerWorkloadCommands } from "./workloads";

/** The operator commands: they talk to the fleet REST API of a running driver (`iotfog up` / `iotfog driver`). */
export function registerOperatorCommands(program: Command): void {
  registerNodeCommands(program);
  registerDeployCommands(program);
  registerWorkloadCommands(program);
  registerFleetCommands(program);
}

export { resolveTarget, ApiClient, DEFAULT_API_URL, DEFAULT_TOKEN_FILE } from "./api-client";
