import { Router } from "zeromq";
import type { ZodType, ZodTypeDef } from "zod";
import {
  DEFAULT_LIMITS,
  curveContext,
  type CurveServer,
  IotFogError,
  LimitRefusals,
  agentCommands,
  decodeRequest,
  encodeReply,
  errorMessage,
  errorReply,
  isAgentCommand,
  okReply,
  parseWith,
  salvageRequestId,
  toIotFogError,
  type AgentCommandName,
  type Component,
  type Logger,
  type ParsedCommandParams,
  type RequestEnvelope,
} from "@openiotfog/shared";
import { bindServer } from "../monitoring/zmq-bind";
import { advertisedAddress } from "./address";
import { REPLAYED, ReplyCache } from "./reply-cache";
import type { NodeSecurity } from "../security/node-security";

export interface HandlerContext {
  id: string;
  deadline: number;
  /** The request's attachment frame, if any. */
  attachment?: Buffer;
}

/** What a handler returns: the result, or the result plus an attachment frame. */
export interface HandlerReply {
  result: unknown;
  attachment?: Buffer;
}

export type CommandHandlers = {
  [C in AgentCommandName]: (params: ParsedCommandParams<C>, ctx: HandlerContext) => Promise<unknown>;
};

export interface CommandEndpointOptions {
  bind: string;
  advertise?: string;
  maxEnvelopeBytes: number;
  maxAttachmentBytes: number;
  replyCacheMs: number;
  clockSkewToleranceMs: number;
  /** Requests handled at once; beyond it a request gets a retryable UNAVAILABLE reply. */
  maxInFlight?: number;
  /** CurveZMQ with the node's keys and trust list; absent or off: plain ZeroMQ (security.mode insecure). */
  security?: NodeSecurity;
}

const ATTACHED = Symbol("attached");

/** A reply attachment is marked by returning `withAttachment(result, bytes)` from a handler. */
export function withAttachment(result: unknown, attachment: Buffer): HandlerReply & { [ATTACHED]: true } {
  return { result, attachment, [ATTACHED]: true };
}

/** Cheap id recovery from the head of an oversized frame, so its error reply reaches the waiting caller. */
function salvageIdFromHead(frame: Buffer): string {
  const m = /"id"\s*:\s*"([A-Za-z0-9._:-]{1,128})"/.exec(frame.subarray(0, 512).toString("utf8"));
  return m?.[1] ?? "";
}

/**
 * The agent's command endpoint: a ROUTER socket, one multipart request in, one reply out, many requests in
 * flight at once. Every frame is checked (count, size, envelope, version, deadline, params) before any handler
 * runs; a bad frame gets an error reply and the loop goes on serving.
 */
export class CommandEndpoint implements Component {
  readonly name = "command-endpoint";
  private socket: Router | undefined;
  private loop: Promise<void> | undefined;
  private sendChain: Promise<void> = Promise.resolve();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly replies: ReplyCache;
  private bound = "";
  /** Requests refused because maxInFlight were being handled. */
  readonly busyRefusals: LimitRefusals;
  private curve: CurveServer | undefined;

  constructor(
    private readonly opts: CommandEndpointOptions,
    private readonly handlers: CommandHandlers,
    private readonly logger: Logger,
  ) {
    this.replies = new ReplyCache(opts.replyCacheMs);
    this.busyRefusals = new LimitRefusals(
      "command endpoint (requests in flight)",
      opts.maxInFlight ?? DEFAULT_LIMITS.inFlightCommands,
      logger,
    );
  }

  async start(): Promise<void> {
    this.bound = await this.open(this.opts.bind);
    this.logger.info("command endpoint listening", {
      bind: this.bound,
      advertise: this.advertise,
      security: this.secured ? "curve" : "INSECURE (plain ZeroMQ, anyone who reaches it is obeyed)",
    });
  }

  private get secured(): boolean {
    return this.opts.security?.enabled === true;
  }

  /** Creates the ROUTER (a CURVE server when security is on), binds it and starts its receive loop. */
  private async open(address: string): Promise<string> {
    // libzmq drops the connection of a peer whose message exceeds maxMessageSize; keep that hard cap well above
    // our own limits so a merely too-large frame still gets an error reply.
    const socket = new Router({
      linger: 0,
      context: curveContext,
      maxMessageSize: 4 * (this.opts.maxEnvelopeBytes + this.opts.maxAttachmentBytes),
    });
    const { endpoint, curve } = await bindServer(
      socket,
      address,
      "command endpoint",
      this.opts.security,
      "commands",
    );
    this.curve = curve;
    this.socket = socket;
    this.loop = this.receive(socket);
    return endpoint;
  }

  /** The address clients should use (config `zmq.advertise`, or the bound one made reachable). */
  get advertise(): string {
    return this.opts.advertise ?? advertisedAddress(this.bound || this.opts.bind);
  }

  async stop(): Promise<void> {
    const socket = this.socket;
    this.socket = undefined;
    // A CURVE server's socket is closed by its CurveServer, which lets libzmq end the socket's monitor first.
    if (this.curve === undefined) socket?.close();
    else await this.curve.close();
    this.curve = undefined;
    await this.loop;
    await Promise.allSettled([...this.inFlight]);
    this.replies.clear();
  }

  private async receive(socket: Router): Promise<void> {
    try {
      for await (const frames of socket) {
        const [identity, ...body] = frames;
        if (identity === undefined) continue;
        if (this.inFlight.size >= this.busyRefusals.limit) {
          // Answered at once without decoding: the caller retries later; memory holds no more than the bound.
          this.busyRefusals.refuse();
          const head = body[0];
          const busy = new IotFogError(
            "UNAVAILABLE",
            `agent busy: ${this.inFlight.size} requests in flight (limit ${this.busyRefusals.limit}); retry later`,
          );
          // A failed send is logged by the send chain; here it must not become an unhandled rejection.
          this.send(identity, [
            encodeReply(errorReply(head === undefined ? "" : salvageIdFromHead(head), busy)),
          ]).catch(() => undefined);
          continue;
        }
        const task = this.handle(identity, body).catch((e: unknown) => {
          this.logger.error("reply failed", { error: errorMessage(e) });
        });
        this.inFlight.add(task);
        void task.finally(() => this.inFlight.delete(task));
      }
    } catch (e) {
      if (this.socket !== undefined)
        this.logger.error("command endpoint stopped receiving", { error: errorMessage(e) });
    }
  }

  private send(identity: Buffer, frames: Buffer[]): Promise<void> {
    const next = this.sendChain.then(async () => {
      const socket = this.socket;
      if (socket === undefined) return;
      await socket.send([identity, ...frames]);
    });
    this.sendChain = next.catch((e: unknown) => {
      this.logger.warn("send failed", { error: errorMessage(e) });
    });
    return next;
  }

  private async handle(identity: Buffer, body: Buffer[]): Promise<void> {
    return this.send(identity, await this.answer(body));
  }

  /**
   * The reply frames for one request's frames (after the ROUTER identity): an error reply for anything malformed,
   * else the command's result. Never throws. Public so the parsing and dispatch can be driven without a socket.
   */
  async answer(body: Buffer[]): Promise<Buffer[]> {
    const [head, attachment] = body;
    const fail = (id: string, e: IotFogError): Buffer[] => {
      this.logger.debug("request refused", { id, code: e.code, error: e.message });
      return [encodeReply(errorReply(id, e))];
    };
    if (head === undefined || body.length > 2) {
      return fail(
        head === undefined ? "" : salvageIdFromHead(head),
        new IotFogError(
          "PROTOCOL_ERROR",
          `expected 1 or 2 frames (envelope, optional attachment), got ${body.length}`,
        ),
      );
    }
    if (head.length > this.opts.maxEnvelopeBytes) {
      return fail(
        salvageIdFromHead(head),
        new IotFogError(
          "BAD_REQUEST",
          `request envelope of ${head.length} bytes exceeds the limit of ${this.opts.maxEnvelopeBytes}`,
          {
            limit: this.opts.maxEnvelopeBytes,
          },
        ),
      );
    }
    if (attachment !== undefined && attachment.length > this.opts.maxAttachmentBytes) {
      return fail(
        salvageIdFromHead(head),
        new IotFogError(
          "BAD_REQUEST",
          `attachment of ${attachment.length} bytes exceeds the limit of ${this.opts.maxAttachmentBytes}`,
          {
            limit: this.opts.maxAttachmentBytes,
          },
        ),
      );
    }
    let envelope: RequestEnvelope;
    try {
      envelope = decodeRequest(head);
    } catch (e) {
      return fail(salvageRequestId(head), toIotFogError(e, "BAD_REQUEST"));
    }
    if (envelope.deadline + this.opts.clockSkewToleranceMs < Date.now()) {
      return fail(
        envelope.id,
        new IotFogError(
          "TIMEOUT",
          `request ${envelope.id} (${envelope.command}) arrived after its deadline; not run`,
        ),
      );
    }
    const { command } = envelope;
    if (!isAgentCommand(command)) {
      return fail(
        envelope.id,
        new IotFogError("UNSUPPORTED", `unknown command "${command}"`, {
          commands: Object.keys(agentCommands),
        }),
      );
    }
    if (!REPLAYED.has(command)) return (await this.execute(command, envelope, attachment)).frames;
    const cached = this.replies.get(envelope.id);
    if (cached !== undefined) {
      if (cached.command !== command) {
        return fail(
          envelope.id,
          new IotFogError("BAD_REQUEST", `request id ${envelope.id} was already used for ${cached.command}`),
        );
      }
      this.logger.debug("retried request answered from the first run", { id: envelope.id, command });
      return cached.frames;
    }
    const run = this.execute(command, envelope, attachment);
    this.replies.remember(
      envelope.id,
      command,
      run.then((outcome) => outcome.frames),
    );
    const outcome = await run;
    // A retryable failure (busy, timed out) must run again on retry, not be replayed.
    if (outcome.failure?.retryable === true) this.replies.forget(envelope.id);
    return outcome.frames;
  }

  private async execute<C extends AgentCommandName>(
    command: C,
    envelope: RequestEnvelope,
    attachment: Buffer | undefined,
  ): Promise<{ frames: Buffer[]; failure?: IotFogError }> {
    const started = Date.now();
    try {
      const schemas = agentCommands[command];
      // Widened: a params schema may be an object with refinements (labels.set), which TS cannot unify.
      const params = parseWith(
        schemas.params as ZodType<unknown, ZodTypeDef, unknown>,
        envelope.params,
        `${command} params`,
        "BAD_REQUEST",
      ) as ParsedCommandParams<C>;
      const ctx: HandlerContext = { id: envelope.id, deadline: envelope.deadline };
      if (attachment !== undefined) ctx.attachment = attachment;
      const handler = this.handlers[command] as (
        p: ParsedCommandParams<C>,
        c: HandlerContext,
      ) => Promise<unknown>;
      const out = await handler(params, ctx);
      const reply =
        out !== null && typeof out === "object" && ATTACHED in out
          ? (out as unknown as HandlerReply)
          : { result: out };
      const result = schemas.result.safeParse(reply.result);
      if (!result.success) {
        throw new IotFogError(
          "INTERNAL",
          `${command} produced an invalid result: ${result.error.issues[0]?.message ?? "?"}`,
        );
      }
      this.logger.debug("command done", { id: envelope.id, command, ms: Date.now() - started });
      const frames = [encodeReply(okReply(envelope.id, result.data))];
      if (reply.attachment !== undefined) frames.push(reply.attachment);
      return { frames };
    } catch (e) {
      const error = toIotFogError(e);
      const level = error.code === "INTERNAL" || error.code === "RUNTIME_ERROR" ? "warn" : "debug";
      this.logger[level]("command failed", {
        id: envelope.id,
        command,
        code: error.code,
        error: error.message,
      });
      return { frames: [encodeReply(errorReply(envelope.id, error))], failure: error };
    }
  }
}
