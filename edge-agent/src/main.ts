/**
 * Lean entry point for fog nodes: `node edge-agent/dist/main.js --config /etc/iotfog/agent.yaml`. Does what
 * `iotfog agent --config FILE` does without loading the CLI's other commands (driver, broker, REST, GUI),
 * which keeps the agent's memory down on a Pi. The systemd unit and the agent image use it.
 */
// First: defers dockerode's heavy optional modules for whichever part of the agent loads dockerode first.
import "./runtime/defer-heavy";
import { errorMessage, isIotFogError } from "@openiotfog/shared";
import { runAgentFromFile } from "./run";

function configPath(argv: string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    if (arg === "--config" || arg === "-c") return argv[i + 1];
    if (arg.startsWith("--config=")) return arg.slice("--config=".length);
  }
  return process.env.IOTFOG_CONFIG;
}

async function main(): Promise<number> {
  const file = configPath(process.argv.slice(2));
  if (file === undefined) {
    process.stderr.write("usage: iotfog-agent --config <file> (or IOTFOG_CONFIG=<file>)\n");
    return 2;
  }
  try {
    await runAgentFromFile(file);
    return 0;
  } catch (e) {
    process.stderr.write(`iotfog-agent: error: ${errorMessage(e)}\n`);
    return isIotFogError(e) && (e.code === "CONFIG_INVALID" || e.code === "CONFIG_NOT_FOUND") ? 2 : 1;
  }
}

if (require.main === module) {
  void main().then((code) => process.exit(code));
}
