import { randomUUID } from "node:crypto";
import amqp, { type Options } from "amqplib";
import { fromJson, gsonToJson, GsonError, type JavaType } from "./gson";
import { getQueues, type ManagementAccess } from "./management";

export const OPENBATON_EXCHANGE = "openbaton-exchange";

/** `org.openbaton.exceptions.PluginException`; `cause` is the VimDriverException the plugin sent, if any. */
export class PluginException extends Error {
  constructor(
    message: string,
    readonly vimDriverException?: { detailMessage: string; server?: unknown },
  ) {
    super(message);
    this.name = "PluginException";
  }
}

export class NotFoundException extends Error {
  constructor(message: string) {
    super(message);
    this.name = "NotFoundException";
  }
}

export interface PluginCallerOptions {
  connect: Options.Connect;
  management: ManagementAccess;
  vhost: string;
  timeoutMs: number;
}

/** What one call saw on the wire, for tests that look at the raw exchange. */
export interface RpcTrace {
  pluginId: string;
  requestBody: string;
  replyBody?: string;
  /** Replies that arrived without (or with another) correlation id: the NFVO's consumer throws on them. */
  unmatchedReplies: number;
}

/**
 * `PluginCaller` (openbaton/NFVO plugin/.../PluginCaller.java), as docs/openbaton-protocol.md §3 describes it: finds the plugin queue in the
 * management API (first name starting with the id), opens a new connection per call, declares a server-named
 * reply queue bound to openbaton-exchange under its own name, publishes with only correlation_id and reply_to,
 * checks the plugin queue still exists, and parses the reply exactly like executeRPC.
 */
export class PluginCaller {
  lastTrace: RpcTrace | undefined;

  constructor(private readonly opts: PluginCallerOptions) {}

  async getFullPluginId(prefix: string): Promise<string> {
    const queues = await getQueues(this.opts.management, this.opts.vhost);
    const found = queues.find((q) => q.startsWith(prefix));
    if (found === undefined) {
      throw new NotFoundException(`no plugin found with name: ${prefix} into queues: [${queues.join(", ")}]`);
    }
    return found;
  }

  /** `returnType` null = a void method: publish, check, and return without waiting (deleteServerByIdAndWait). */
  async executeRPC(
    pluginPrefix: string,
    methodName: string,
    args: unknown[],
    returnType: JavaType | null,
  ): Promise<unknown> {
    return this.executeRaw(pluginPrefix, gsonToJson({ methodName, parameters: args }), returnType);
  }

  /** Sends an arbitrary body (e.g. not JSON) the way executeRPC sends a PluginMessage. */
  async executeRaw(
    pluginPrefix: string,
    body: string,
    returnType: JavaType | null,
    publishOptions: { omitReplyTo?: boolean } = {},
  ): Promise<unknown> {
    const pluginId = await this.getFullPluginId(pluginPrefix);
    const trace: RpcTrace = { pluginId, requestBody: body, unmatchedReplies: 0 };
    this.lastTrace = trace;
    // The Java client disables Nagle by default (DefaultSocketConfigurator): so does this.
    const connection = await amqp.connect(this.opts.connect, { noDelay: true });
    connection.on("error", () => undefined);
    try {
      const channel = await connection.createChannel();
      channel.on("error", () => undefined);
      const { queue: replyQueueName } = await channel.assertQueue("", {
        exclusive: true,
        autoDelete: true,
        durable: false,
      });
      await channel.bindQueue(replyQueueName, OPENBATON_EXCHANGE, replyQueueName);
      const corrId = randomUUID();
      let deliver: (s: string) => void = () => undefined;
      const response = new Promise<string>((resolve) => (deliver = resolve));
      channel.publish(
        OPENBATON_EXCHANGE,
        pluginId,
        Buffer.from(body, "utf8"),
        publishOptions.omitReplyTo
          ? { correlationId: corrId }
          : { correlationId: corrId, replyTo: replyQueueName },
      );
      await channel.consume(
        replyQueueName,
        (msg) => {
          if (msg === null) return;
          // `properties.getCorrelationId().equals(corrId)`: a reply without one throws in the consumer.
          if (msg.properties.correlationId === corrId) {
            trace.replyBody = msg.content.toString("utf8");
            deliver(trace.replyBody);
          } else {
            trace.unmatchedReplies += 1;
          }
        },
        { noAck: true },
      );
      const queues = await getQueues(this.opts.management, this.opts.vhost);
      if (!queues.includes(pluginId)) {
        throw new PluginException(`Plugin with id: ${pluginId} not existing anymore...`);
      }
      if (returnType === null) {
        await channel.deleteQueue(replyQueueName).catch(() => undefined);
        return null;
      }
      let timer: NodeJS.Timeout | undefined;
      const res = await Promise.race([
        response,
        new Promise<undefined>(
          (resolve) => (timer = setTimeout(() => resolve(undefined), this.opts.timeoutMs)),
        ),
      ]);
      clearTimeout(timer);
      if (res === undefined) {
        throw new PluginException(`Plugin did not responded after ${this.opts.timeoutMs} milliseconds`);
      }
      return parseReply(res, returnType);
    } finally {
      await connection.close().catch(() => undefined);
    }
  }
}

/** The body handling of executeRPC, including what makes the NFVO throw. */
export function parseReply(res: string, returnType: JavaType): unknown {
  let jsonObject: unknown;
  try {
    jsonObject = JSON.parse(res);
  } catch (e) {
    throw new GsonError("com.google.gson.JsonSyntaxException", (e as Error).message);
  }
  if (jsonObject === null || typeof jsonObject !== "object" || Array.isArray(jsonObject)) {
    throw new GsonError("com.google.gson.JsonSyntaxException", "reply is not a JSON object");
  }
  const obj = jsonObject as Record<string, unknown>;
  // `jsonObject.get("exception") == null` is false for an explicit JSON null (a JsonNull).
  if (!("exception" in obj)) {
    if (!("answer" in obj)) {
      throw new PluginException(
        "Plugin return null without throwing exception... It is hard to understand for me what went wrong, i am only a (free) sofware...",
      );
    }
    const answerJson = obj.answer;
    if (answerJson === null) {
      // not a primitive, not an array → getAsJsonObject() on JsonNull
      throw new GsonError("java.lang.IllegalStateException", "Not a JSON Object: null");
    }
    return fromJson(answerJson, returnType);
  }
  const exceptionJson = obj.exception;
  if (exceptionJson === null || typeof exceptionJson !== "object" || Array.isArray(exceptionJson)) {
    throw new GsonError(
      "java.lang.IllegalStateException",
      `Not a JSON Object: ${JSON.stringify(exceptionJson)}`,
    );
  }
  const e = exceptionJson as { detailMessage?: unknown; server?: unknown };
  const detailMessage = typeof e.detailMessage === "string" ? e.detailMessage : String(e.detailMessage);
  const server = e.server === undefined || e.server === null ? undefined : fromJson(e.server, "Server");
  throw new PluginException(
    `org.openbaton.exceptions.VimDriverException: ${detailMessage}`,
    server === undefined ? { detailMessage } : { detailMessage, server },
  );
}
