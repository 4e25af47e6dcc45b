import { Command, CommanderError, Option } from "commander";
import { IOTFOG_VERSION, errorMessage, isIotFogError } from "@openiotfog/shared";
import type { UpOptions } from "./run";
import type * as AgentRunner from "@openiotfog/edge-agent/run";
import type * as StackRunner from "./run";
import { registerOperatorCommands } from "./commands";

/** Exit codes: 0 ok, 1 runtime failure, 2 usage or configuration error. */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

export function buildProgram(): Command {
  const program = new Command("iotfog")
    .description("OpenIoTFog: fog service orchestration for smart factories")
    .version(IOTFOG_VERSION)
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride();

  program
    .command("agent")
    .description("run the edge agent on this fog node")
    .requiredOption("-c, --config <file>", "agent configuration file (YAML)")
    .option("--join <token>", "enroll in a fleet first, with a join token from `iotfog fleet token create`")
    .option(
      "--server <url>",
      "the driver's fleet API for --join (default: $IOTFOG_API_URL or http://127.0.0.1:7080)",
    )
    .action((opts: { config: string; join?: string; server?: string }) =>
      loadAgentRunner().runAgentFromFile(
        opts.config,
        opts.join === undefined
          ? undefined
          : {
              token: opts.join,
              server: opts.server ?? process.env.IOTFOG_API_URL ?? "http://127.0.0.1:7080",
            },
      ),
    );

  program
    .command("driver")
    .description("run the driver side: Open Baton VIM driver and VNFM, fleet view, fleet API")
    .requiredOption("-c, --config <file>", "driver configuration file (YAML)")
    .action((opts: { config: string }) => loadStackRunner().runDriver(opts.config));

  program
    .command("up")
    .description("run a single-machine stack: driver side, one local agent and an embedded MQTT broker")
    .option(
      "-c, --config <file>",
      "stack configuration file (YAML) with `agent`, `driver` and `mqtt` sections",
    )
    .option("--mqtt-url <url>", "use this MQTT broker instead of the embedded one")
    .addOption(
      new Option("--embedded-port <port>", "port of the embedded MQTT broker")
        .argParser(parsePort)
        .default(1885),
    )
    .option(
      "--deploy <blueprint>",
      "deploy this blueprint once the local agent has joined (repeatable; adds to the config's `deploy` list)",
      (v: string, prev: string[] = []) => [...prev, v],
    )
    .action((opts: UpOptions) => loadStackRunner().runUp(opts));

  registerOperatorCommands(program);
  return program;
}

/*
 * The long-running commands load their packages only when chosen: `iotfog agent` on a Raspberry Pi must not
 * pay for the driver side (AMQP, express, the GUI) or the embedded broker in resident memory.
 */
function loadAgentRunner(): typeof AgentRunner {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require("@openiotfog/edge-agent/run") as typeof AgentRunner;
}

function loadStackRunner(): typeof StackRunner {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require("./run") as typeof StackRunner;
}

function parsePort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535) {
    throw new CommanderError(EXIT_USAGE, "iotfog.invalidPort", `invalid port "${value}": expected 1-65535`);
  }
  return n;
}

/** Runs the CLI and resolves to the process exit code; never throws. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  for (const cmd of program.commands) cmd.exitOverride();
  try {
    await program.parseAsync(argv);
    return EXIT_OK;
  } catch (e) {
    if (e instanceof CommanderError) {
      // Help and version are successful exits; commander has already printed the problem otherwise.
      if (
        e.code === "commander.helpDisplayed" ||
        e.code === "commander.version" ||
        e.code === "commander.help"
      ) {
        return EXIT_OK;
      }
      if (e.code === "iotfog.invalidPort") process.stderr.write(`iotfog: error: ${e.message}\n`);
      return EXIT_USAGE;
    }
    if (isIotFogError(e)) {
      process.stderr.write(`iotfog: error: ${e.message}\n`);
      return e.code === "CONFIG_INVALID" || e.code === "CONFIG_NOT_FOUND" || e.code === "BAD_REQUEST"
        ? EXIT_USAGE
        : EXIT_FAILURE;
    }
    process.stderr.write(`iotfog: error: ${errorMessage(e)}\n`);
    return EXIT_FAILURE;
  }
}
