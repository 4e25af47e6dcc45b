import { InvalidArgumentError, Option, type Command } from "commander";
import { ApiClient, resolveTarget, type ApiOptions } from "./api-client";

export interface CommonOptions extends ApiOptions {
  output: "table" | "json";
}

/** Adds the connection and output options every operator command takes. */
export function withApiOptions(cmd: Command): Command {
  return cmd
    .option("--api-url <url>", "fleet API URL (default: $IOTFOG_API_URL or http://127.0.0.1:7080)")
    .option("--token <token>", "API token (default: $IOTFOG_API_TOKEN, else the token file)")
    .option(
      "--token-file <file>",
      "file holding the API token (default: $IOTFOG_API_TOKEN_FILE or .iotfog/api-token)",
    )
    .option(
      "--ca <file>",
      "PEM CA certificate that signed an https API's certificate (default: $IOTFOG_API_CA)",
    )
    .addOption(
      new Option("-o, --output <format>", "output format").choices(["table", "json"]).default("table"),
    );
}

export function client(opts: ApiOptions): ApiClient {
  return new ApiClient(resolveTarget(opts));
}

export function print(text: string): void {
  process.stdout.write(text.endsWith("\n") ? text : `${text}\n`);
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** A positive integer option (commander argParser); a bad value is a usage error. */
export function intOption(name: string, min = 0): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < min) {
      throw new InvalidArgumentError(`${name} must be a whole number >= ${min}`);
    }
    return n;
  };
}

export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
