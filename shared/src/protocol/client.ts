import { createHash, randomUUID } from "node:crypto";
import { createReadStream } from "node:fs";
import { Dealer } from "zeromq";
import { IotFogError, errorMessage } from "../errors";
import { DEFAULT_LIMITS, LimitRefusals } from "../limits";
import type { Logger } from "../logging";
import { Backoff, sleep } from "../backoff";
import { describeZodError } from "../validation";
import { curveClientOptions } from "../security/zap";
import {
  agentCommands,
  type AgentCommandName,
  type CommandParams,
  type CommandResult,
  type ExpectedImage,
} from "./commands";
import {
  DEFAULT_CHUNK_BYTES,
  PROTOCOL_VERSION,
  decodeReply,
  encodeRequest,
  fromWireError,
  type ReplyEnvelope,
  type RequestEnvelope,
} from "./envelope";

export interface AgentClientOptions {
  /** The agent's advertised ROUTER address, e.g. tcp://10.0.0.7:5555. */
  endpoint: string;
  /** How long one attempt waits for a reply (ms). Default 5000. */
  timeoutMs?: number;
  /** Told of every call that settles and of every retry (the driver's metrics). */
  observer?: AgentCallObserver;
  /** Extra attempts after the first when an attempt gets no reply in time or a retryable error. Default 2. */
  retries?: number;
  /** First pause between attempts (ms), growing by the shared Backoff up to 8 times it. Default 100. */
  retryDelayMs?: number;
  /**
   * Largest reply accepted, envelope and attachment together (bytes); libzmq drops the connection of an agent
   * that sends a bigger frame, and a reply over it in total is discarded. Default DEFAULT_LIMITS.replyBytes.
   */
  maxReplyBytes?: number;
  logger?: Logger;
  /**
   * CurveZMQ: our key pair and the agent's public key (from its enrollment, never from a presence message).
   * Without it the socket speaks plain ZeroMQ, which an agent with security on refuses.
   */
  curve?: CurveClientKeys;
}

/** What a CurveZMQ client needs: its own key pair and the server's public key. */
export interface CurveClientKeys {
  publicKey: string;
  secretKey: string;
  serverKey: string;
}

/** One settled call: its command, `ok` or the error code, how long it took in all, and attachment bytes sent. */
export interface SettledCall {
  command: AgentCommandName;
  outcome: string;
  seconds: number;
  sentBytes: number;
}

export interface AgentCallObserver {
  settled(call: SettledCall): void;
  /** An attempt after the first (the agent did not answer in time, or said busy). */
  retried(command: AgentCommandName): void;
}

export interface CallOptions {
  timeoutMs?: number;
  retries?: number;
  /** Bytes for the attachment frame (images.import.chunk). */
  attachment?: Buffer;
  /** Reuse an id to make a call idempotent across client restarts; default a fresh UUID. */
  requestId?: string;
}

export interface ImageExport {
  sizeBytes: number;
  sha256: string;
  chunks(): AsyncGenerator<Buffer>;
  close(): Promise<void>;
}

/** Image loads and saves take as long as the disk needs; they get at least this per attempt. */
const LONG_CALL_MS = 120000;

/**
 * Per-attempt defaults for commands that wait on the container engine (image pulls, stop grace periods); a
 * caller's timeoutMs wins. Other commands use the client's timeoutMs.
 */
export const COMMAND_TIMEOUTS_MS: Partial<Record<AgentCommandName, number>> = {
  deploy: 60000,
  start: 30000,
  stop: 30000,
  remove: 30000,
  "images.pull": 300000,
  "images.import.commit": LONG_CALL_MS,
  "images.export.begin": LONG_CALL_MS,
};

export interface CallReply<C extends AgentCommandName> {
  result: CommandResult<C>;
  attachment?: Buffer;
}

interface Pending {
  resolve(frames: Buffer[] | undefined): void;
}

/**
 * Client for one agent's command endpoint (DEALER → ROUTER). Requests are pipelined: many calls may be in
 * flight on one socket, matched to replies by request id. Each attempt has its own deadline; a timed-out attempt
 * is resent with the same request id, which the agent treats as the same request (it answers a retry with the
 * first reply, so a deploy never runs twice). When every attempt times out the call fails with UNAVAILABLE and
 * says which node did not answer.
 */
export class AgentClient {
  readonly endpoint: string;
  private readonly socket: Dealer;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly retryDelayMs: number;
  private readonly pending = new Map<string, Pending>();
  private sendChain: Promise<void> = Promise.resolve();
  private closed = false;
  private readonly receiving: Promise<void>;
  /** Replies discarded: more than two frames, or bigger than maxReplyBytes. */
  readonly replyRefusals: LimitRefusals;

  constructor(private readonly opts: AgentClientOptions) {
    const maxReplyBytes = opts.maxReplyBytes ?? DEFAULT_LIMITS.replyBytes;
    this.replyRefusals = new LimitRefusals(`replies from ${opts.endpoint}`, maxReplyBytes, opts.logger);
    this.endpoint = opts.endpoint;
    this.timeoutMs = opts.timeoutMs ?? 5000;
    this.retries = opts.retries ?? 2;
    this.retryDelayMs = opts.retryDelayMs ?? 100;
    // immediate: queue only on completed connections, so a dead agent makes sends wait (and time out) instead
    // of piling requests into a buffer that would all fire when it comes back. linger 0: close never hangs.
    this.socket = new Dealer({
      linger: 0,
      immediate: true,
      sendTimeout: this.timeoutMs,
      maxMessageSize: maxReplyBytes,
      ...(opts.curve === undefined ? {} : curveClientOptions(opts.curve, opts.curve.serverKey)),
    });
    this.socket.connect(this.endpoint);
    this.receiving = this.receiveLoop();
  }

  /** Attempts waiting for their reply. */
  get inFlight(): number {
    return this.pending.size;
  }

  /** Sends a command and returns its validated result; throws IotFogError with the agent's code. */
  async call<C extends AgentCommandName>(
    command: C,
    params: CommandParams<C>,
    opts: CallOptions = {},
  ): Promise<CommandResult<C>> {
    return (await this.callWithAttachment(command, params, opts)).result;
  }

  /** Like call, also returning the reply's attachment frame (images.export.chunk). */
  async callWithAttachment<C extends AgentCommandName>(
    command: C,
    params: CommandParams<C>,
    opts: CallOptions = {},
  ): Promise<CallReply<C>> {
    const observer = this.opts.observer;
    if (observer === undefined) return this.exchange(command, params, opts);
    const started = performance.now();
    const settled = (outcome: string): void =>
      observer.settled({
        command,
        outcome,
        seconds: (performance.now() - started) / 1000,
        sentBytes: opts.attachment?.length ?? 0,
      });
    try {
      const reply = await this.exchange(command, params, opts);
      settled("ok");
      return reply;
    } catch (e) {
      settled(e instanceof IotFogError ? e.code : "INTERNAL");
      throw e;
    }
  }

  private async exchange<C extends AgentCommandName>(
    command: C,
    params: CommandParams<C>,
    opts: CallOptions,
  ): Promise<CallReply<C>> {
    if (this.closed) throw new IotFogError("UNAVAILABLE", `client for ${this.endpoint} is closed`);
    const schemas = agentCommands[command];
    const parsedParams = schemas.params.safeParse(params);
    if (!parsedParams.success) {
      const problems = describeZodError(parsedParams.error);
      throw new IotFogError("BAD_REQUEST", `${command}: ${problems.join("; ")}`, { problems });
    }
    const id = opts.requestId ?? randomUUID();
    const graceMs =
      "timeoutSeconds" in parsedParams.data ? Number(parsedParams.data.timeoutSeconds) * 1000 : 0;
    const timeoutMs =
      opts.timeoutMs ?? Math.max(this.timeoutMs, (COMMAND_TIMEOUTS_MS[command] ?? 0) + graceMs);
    const attempts = 1 + (opts.retries ?? this.retries);
    const backoff = new Backoff({ initialMs: this.retryDelayMs, maxMs: this.retryDelayMs * 8 });
    let lastProblem = "no reply";
    for (let attempt = 1; attempt <= attempts; attempt++) {
      if (this.closed) throw new IotFogError("UNAVAILABLE", `client for ${this.endpoint} is closed`);
      if (attempt > 1) this.opts.observer?.retried(command);
      const envelope: RequestEnvelope = {
        v: PROTOCOL_VERSION,
        id,
        deadline: Date.now() + timeoutMs,
        command,
        params: parsedParams.data as Record<string, unknown>,
      };
      const frames = await this.attempt(envelope, opts.attachment, timeoutMs);
      if (this.closed) throw new IotFogError("UNAVAILABLE", `client for ${this.endpoint} is closed`);
      if (typeof frames === "string") {
        lastProblem = frames;
        this.opts.logger?.debug("agent did not answer in time", {
          endpoint: this.endpoint,
          command,
          id,
          attempt,
        });
      } else {
        const [head, attachment] = frames;
        const reply: ReplyEnvelope = decodeReply(head ?? Buffer.alloc(0));
        if (reply.ok) {
          const result = schemas.result.safeParse(reply.result);
          if (!result.success) {
            throw new IotFogError(
              "PROTOCOL_ERROR",
              `${command} reply from ${this.endpoint}: ${describeZodError(result.error).join("; ")}`,
            );
          }
          return attachment === undefined
            ? { result: result.data as CommandResult<C> }
            : { result: result.data as CommandResult<C>, attachment };
        }
        const error = fromWireError(reply.error);
        if (!error.retryable || attempt === attempts) throw error;
        lastProblem = `${error.code}: ${error.message}`;
      }
      if (attempt < attempts) await sleep(backoff.next());
    }
    throw new IotFogError(
      "UNAVAILABLE",
      `agent at ${this.endpoint} did not answer ${command} (request ${id}) after ${attempts} attempt(s): ${lastProblem}`,
      { endpoint: this.endpoint, command, requestId: id, attempts },
    );
  }

  /** One send and wait: the reply frames, or why there is none. */
  private async attempt(
    envelope: RequestEnvelope,
    attachment: Buffer | undefined,
    timeoutMs: number,
  ): Promise<Buffer[] | string> {
    let timer: NodeJS.Timeout | undefined;
    let settle: (outcome: Buffer[] | string) => void = () => undefined;
    const outcome = new Promise<Buffer[] | string>((resolve) => {
      settle = resolve;
      this.pending.set(envelope.id, { resolve: (frames) => resolve(frames ?? "client closed") });
      timer = setTimeout(() => resolve(`no reply within ${timeoutMs} ms`), timeoutMs);
    });
    const frames =
      attachment === undefined ? [encodeRequest(envelope)] : [encodeRequest(envelope), attachment];
    // zeromq allows one send at a time per socket; with no connection to the agent a send waits up to
    // sendTimeout and then fails, which ends the attempt early instead of waiting for a reply that cannot come.
    this.sendChain = this.sendChain.then(async () => {
      try {
        await this.socket.send(frames);
      } catch (e) {
        settle(`not connected (${errorMessage(e)})`);
      }
    });
    try {
      return await outcome;
    } finally {
      if (timer) clearTimeout(timer);
      this.pending.delete(envelope.id);
    }
  }

  private async receiveLoop(): Promise<void> {
    try {
      for await (const frames of this.socket) {
        const head = frames[0];
        if (head === undefined) continue;
        const bytes = frames.reduce((sum, f) => sum + f.length, 0);
        if (frames.length > 2 || bytes > this.replyRefusals.limit) {
          // Not a reply this protocol produces: dropped, so its waiter times out (and retries) as for no reply.
          this.replyRefusals.refuse({ frames: frames.length, bytes });
          continue;
        }
        let id: string;
        try {
          id = decodeReply(head).id;
        } catch (e) {
          this.opts.logger?.warn("unreadable reply from agent", {
            endpoint: this.endpoint,
            error: errorMessage(e),
          });
          continue;
        }
        // A late reply to an attempt that already timed out (and was retried) has no waiter: ignore it.
        this.pending.get(id)?.resolve(frames);
      }
    } catch (e) {
      if (!this.closed) this.opts.logger?.warn("agent client stopped receiving", { error: errorMessage(e) });
    }
  }

  /** Imports a `docker save` tarball (a file path or bytes) over the chunked import commands. */
  async importImage(source: string | Buffer): Promise<CommandResult<"images.import.commit">> {
    if (typeof source !== "string") {
      const sha256 = createHash("sha256").update(source).digest("hex");
      return this.importStream(source.length, sha256, (write) => write(source));
    }
    const { size, sha256 } = await digestFile(source);
    return this.importStream(size, sha256, async (write) => {
      for await (const chunk of createReadStream(source, { highWaterMark: DEFAULT_CHUNK_BYTES })) {
        await write(chunk as Buffer);
      }
    });
  }

  /**
   * begin → chunks → commit: `feed` writes the tarball's bytes in order (any sizes; they are re-cut to the
   * agent's chunk size). On any failure the transfer is aborted so the agent frees its temporary file. With
   * `expect`, the agent loads the tarball only if it holds exactly that image (id and tag).
   */
  async importStream(
    sizeBytes: number,
    sha256: string,
    feed: (write: (bytes: Buffer) => Promise<void>) => Promise<void>,
    expect?: ExpectedImage,
  ): Promise<CommandResult<"images.import.commit">> {
    const { transferId, chunkBytes } = await this.call("images.import.begin", {
      sizeBytes,
      sha256,
      ...(expect === undefined ? {} : { expect }),
    });
    let offset = 0;
    const write = async (bytes: Buffer): Promise<void> => {
      for (let at = 0; at < bytes.length; at += chunkBytes) {
        const attachment = bytes.subarray(at, Math.min(bytes.length, at + chunkBytes));
        await this.call("images.import.chunk", { transferId, offset }, { attachment });
        offset += attachment.length;
      }
    };
    try {
      await feed(write);
      return await this.call("images.import.commit", { transferId }, { timeoutMs: LONG_CALL_MS });
    } catch (e) {
      await this.call("images.import.abort", { transferId }).catch(() => undefined);
      throw e;
    }
  }

  /**
   * Starts an export of an image as a `docker save` tarball. `chunks()` yields its bytes in order and checks the
   * size and sha256 the agent announced at the end; `close()` frees the agent's temporary file.
   */
  async openExport(image: string): Promise<ImageExport> {
    const begin = await this.call("images.export.begin", { image }, { timeoutMs: LONG_CALL_MS });
    const { transferId } = begin;
    const chunks = async function* (this: AgentClient): AsyncGenerator<Buffer> {
      const hash = createHash("sha256");
      let offset = 0;
      for (;;) {
        const { result, attachment } = await this.callWithAttachment("images.export.chunk", {
          transferId,
          offset,
        });
        const bytes = attachment ?? Buffer.alloc(0);
        if (bytes.length !== result.length) {
          throw new IotFogError(
            "PROTOCOL_ERROR",
            `export chunk at ${offset}: ${bytes.length} bytes, announced ${result.length}`,
          );
        }
        hash.update(bytes);
        offset += bytes.length;
        if (bytes.length > 0) yield bytes;
        if (result.done) break;
      }
      const sha256 = hash.digest("hex");
      if (offset !== begin.sizeBytes || sha256 !== begin.sha256) {
        throw new IotFogError(
          "PROTOCOL_ERROR",
          `export of ${image}: got ${offset} bytes sha256 ${sha256}, announced ${begin.sizeBytes} bytes sha256 ${begin.sha256}`,
        );
      }
    }.bind(this);
    return {
      sizeBytes: begin.sizeBytes,
      sha256: begin.sha256,
      chunks,
      close: async () => {
        await this.call("images.export.end", { transferId }).catch(() => undefined);
      },
    };
  }

  /** Exports an image, handing each chunk to `sink` in order. */
  async exportImage(
    image: string,
    sink: (chunk: Buffer) => Promise<void>,
  ): Promise<{ sizeBytes: number; sha256: string }> {
    const exported = await this.openExport(image);
    try {
      for await (const chunk of exported.chunks()) await sink(chunk);
      return { sizeBytes: exported.sizeBytes, sha256: exported.sha256 };
    } finally {
      await exported.close();
    }
  }

  /** Closes the socket; calls still waiting fail with UNAVAILABLE. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.pending.values()) p.resolve(undefined);
    this.pending.clear();
    this.socket.close();
    await this.receiving;
  }
}

async function digestFile(path: string): Promise<{ size: number; sha256: string }> {
  const hash = createHash("sha256");
  let size = 0;
  try {
    for await (const chunk of createReadStream(path)) {
      const bytes = chunk as Buffer;
      hash.update(bytes);
      size += bytes.length;
    }
  } catch (e) {
    throw new IotFogError("NOT_FOUND", `cannot read image tarball ${path}: ${errorMessage(e)}`);
  }
  return { size, sha256: hash.digest("hex") };
}
