import { errorMessage, isIotFogError, parseWith, type Logger } from "@openiotfog/shared";
import { resolveMethod, type MethodSpec, type VimOperations } from "./methods";
import {
  answerReply,
  exceptionReply,
  pluginRequestSchema,
  type PluginReply,
  type PluginRequest,
} from "./protocol";

/** An error that carries the partly created server, so the NFVO can record it (`exception.server`). */
export class DriverError extends Error {
  constructor(
    message: string,
    readonly server?: unknown,
  ) {
    super(message);
    this.name = "DriverError";
  }
}

/** A request ready to run: `background` jobs (fire-and-forget for the NFVO) never hold a worker slot. */
export interface PreparedRequest {
  method: string;
  background: boolean;
  run(): Promise<PluginReply>;
}

/** Told of every request answered (the driver's metrics), with the seconds from receipt to answer. */
export type RequestObserver = (
  method: string,
  outcome: "ok" | "exception" | "invalid",
  seconds: number,
) => void;

/** Parses one AMQP body into a job. Never throws: bad input becomes a job that answers with an exception. */
export function prepareRequest(
  body: Buffer,
  ops: VimOperations,
  logger: Logger,
  observe: RequestObserver = () => undefined,
): PreparedRequest {
  let request: PluginRequest;
  let method: MethodSpec;
  try {
    let json: unknown;
    try {
      json = JSON.parse(body.toString("utf8"));
    } catch (e) {
      throw new Error(`request is not JSON (${errorMessage(e)}): ${body.toString("utf8").slice(0, 120)}`);
    }
    request = parseWith(pluginRequestSchema, json, "plugin request", "BAD_REQUEST");
    method = resolveMethod(request);
  } catch (e) {
    const reply = exceptionReply(errorMessage(e));
    observe("(invalid)", "invalid", 0);
    return { method: "(invalid)", background: false, run: async () => reply };
  }
  const started = Date.now();
  return {
    method: request.methodName,
    background: method.background === true,
    run: async () => {
      try {
        const answer = await method.run(ops, request.parameters);
        logger.debug("request served", { method: request.methodName, ms: Date.now() - started });
        observe(request.methodName, "ok", (Date.now() - started) / 1000);
        return answerReply(answer);
      } catch (e) {
        const server = e instanceof DriverError ? e.server : undefined;
        const level = isIotFogError(e) && e.code === "BAD_REQUEST" ? "warn" : "info";
        logger.log(level, "request failed", { method: request.methodName, error: errorMessage(e) });
        observe(request.methodName, "exception", (Date.now() - started) / 1000);
        return exceptionReply(errorMessage(e), server);
      }
    },
  };
}
