import { randomUUID } from "node:crypto";
import type { Channel, ChannelModel, ConsumeMessage } from "amqplib";
import { IotFogError, errorMessage, sleep, type Component, type Logger } from "@openiotfog/shared";
import { OPENBATON_EXCHANGE, type ManagerCredentials } from "../openbaton/protocol";
import { closeQuietly, deregisterPlugin, describeBroker } from "../openbaton/registration";
import {
  openManagerChannel,
  registrationUser,
  replyAddress,
  runManagerLoop,
  sendReply,
  watchRegistrationQueue,
  type ManagerOptions,
  type SessionEnd,
} from "../openbaton/session";
import { WorkerPool } from "../util/worker-pool";
import { NFVO_ONE_WAY_QUEUE, NFVO_RPC_QUEUE, type Json } from "./messages";
import type { NfvoPort } from "./ports";

/**
 * The VNFM's AMQP side (docs/openbaton-protocol.md §2 and §6): registers on `nfvo.manager.handling` as a VNF manager
 * (`vnfmManagerEndpoint`, RABBIT) through the driver's registration code, reconnects with the credentials it
 * gets, consumes its endpoint queue and replies to every message on the default exchange with the request's
 * correlation id. It is also the NfvoPort: RPCs to `vnfm.nfvo.actions.reply` on a server-named reply queue and
 * one-way messages to `vnfm.nfvo.actions`. Re-registers after a broker restart or when the NFVO comes back.
 */

export interface VnfmServerOptions extends ManagerOptions {
  /** VnfmManagerEndpoint.type: VNFDs whose `endpoint` equals it are ours; also our RabbitMQ user name. */
  type: string;
  /** VnfmManagerEndpoint.endpoint: the queue the NFVO sends to (NFVO 5.x/6.x); default = type. */
  endpoint: string;
  description: string;
  /** Also consume `nfvo.<endpoint>.actions` (older NFVO senders; the NFVO grants that queue too). */
  legacyQueue: boolean;
  workers: number;
  /** How long an RPC to the NFVO may take: ALLOCATE_RESOURCES waits for every launchInstanceAndWait. */
  rpcTimeoutMs: number;
  nfvoWatchMs: number;
  shutdownGraceMs: number;
}

/** The endpoint queue flags of the Open Baton SDKs (go-openbaton `setupManager`). */
const ENDPOINT_QUEUE_OPTIONS = { durable: true, exclusive: false, autoDelete: true } as const;

export type VnfmHandler = (body: Buffer) => Promise<Json | null>;

interface PendingCall {
  resolve(body: Json): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
}

export class VnfmServer implements Component, NfvoPort {
  readonly name = "openbaton-vnfm";
  private readonly pool: WorkerPool;
  private readonly abort = new AbortController();
  private loopDone: Promise<void> | undefined;
  private channel: Channel | undefined;
  private replyQueue: string | undefined;
  private readonly pending = new Map<string, PendingCall>();
  private credentials: ManagerCredentials | undefined;
  private endSession: (() => void) | undefined;
  private sessions = 0;
  private readyWaiters: Array<() => void> = [];
  private handler: VnfmHandler = async () => null;

  constructor(
    private readonly opts: VnfmServerOptions,
    private readonly logger: Logger,
  ) {
    this.pool = new WorkerPool(opts.workers);
  }

  /** The NFVO messages go to `handler` (the VnfManager); set before start. */
  setHandler(handler: VnfmHandler): void {
    this.handler = handler;
  }

  /** Queues this VNFM consumes. */
  get queues(): string[] {
    return this.opts.legacyQueue
      ? [this.opts.endpoint, `nfvo.${this.opts.endpoint}.actions`]
      : [this.opts.endpoint];
  }

  get sessionCount(): number {
    return this.sessions;
  }

  /** VnfmManagerEndpoint as the NFVO stores it. */
  private endpointRecord(): Json {
    return {
      type: this.opts.type,
      endpoint: this.opts.endpoint,
      endpointType: "RABBIT",
      description: this.opts.description,
      enabled: true,
      active: true,
    };
  }

  async start(): Promise<void> {
    // The NFVO may start later: register in the background, never block start-up.
    this.loopDone = this.loop();
  }

  async stop(): Promise<void> {
    if (!this.abort.signal.aborted) {
      this.abort.abort();
      this.endSession?.();
    }
    await this.loopDone;
  }

  /** Resolves once the endpoint queue is consumed (tests and status). */
  ready(): Promise<void> {
    if (this.channel !== undefined) return Promise.resolve();
    return new Promise((resolve) => this.readyWaiters.push(resolve));
  }

  private async loop(): Promise<void> {
    await runManagerLoop(this.opts, {
      signal: this.abort.signal,
      type: this.opts.type,
      extra: { vnfmManagerEndpoint: this.endpointRecord() },
      registered: (credentials) => (this.credentials = credentials),
      serve: (credentials, onServing) => this.serve(credentials, onServing),
      registrationFailed: (e, retryInMs) =>
        this.logger.warn("VNFM registration with the NFVO failed, retrying", {
          type: this.opts.type,
          broker: describeBroker(this.opts),
          error: errorMessage(e),
          retryInMs,
        }),
      sessionFailed: (e) => this.logger.warn("VNFM session failed", { error: errorMessage(e) }),
      sessionLost: (_why, retryInMs) =>
        this.logger.warn("lost the VNFM session, registering again", { retryInMs }),
    });
    await this.deregister();
  }

  /** One connected session. The NFVO coming back counts as a lost connection: register again after a backoff. */
  private async serve(credentials: ManagerCredentials, onServing: () => void): Promise<SessionEnd> {
    const ended = new Promise<void>((resolve) => (this.endSession = resolve));
    let conn: ChannelModel | undefined;
    let watch: NodeJS.Timeout | undefined;
    try {
      const session = await openManagerChannel(
        this.opts,
        credentials,
        { logger: this.logger, label: "VNFM AMQP" },
        () => this.endSession?.(),
      );
      conn = session.conn;
      const ch = session.ch;
      await ch.checkExchange(OPENBATON_EXCHANGE);
      for (const queue of this.queues) {
        await ch.assertQueue(queue, ENDPOINT_QUEUE_OPTIONS);
        await ch.bindQueue(queue, OPENBATON_EXCHANGE, queue);
      }
      // Answers to our RPCs: a server-named queue (the VNFM user may configure amq.gen-* only).
      const reply = await ch.assertQueue("", { exclusive: true, autoDelete: true, durable: false });
      await ch.consume(reply.queue, (msg) => this.onReply(msg), { noAck: true });
      this.replyQueue = reply.queue;
      await ch.prefetch(this.opts.workers);
      for (const queue of this.queues) {
        await ch.consume(queue, (msg) => this.onMessage(ch, msg), { noAck: false });
      }
      this.channel = ch;
      this.sessions += 1;
      onServing();
      for (const w of this.readyWaiters.splice(0)) w();
      this.logger.info("VNFM serving the NFVO", {
        type: this.opts.type,
        queues: this.queues,
        broker: describeBroker(this.opts),
      });
      if (this.opts.nfvoWatchMs > 0) {
        watch = watchRegistrationQueue(conn, this.opts.nfvoWatchMs, {
          gone: () => this.logger.warn("the NFVO stopped consuming its registration queue"),
          back: () => {
            this.logger.info("the NFVO is back, registering the VNFM again");
            this.endSession?.();
          },
        });
      }
      if (this.abort.signal.aborted) this.endSession?.();
      await ended;
      if (this.abort.signal.aborted) {
        // Let running handlers answer, within the grace period; the timer must not outlive the wait.
        const grace = new AbortController();
        await Promise.race([this.pool.idle(), sleep(this.opts.shutdownGraceMs, grace.signal)]);
        grace.abort();
        return "stopping";
      }
      return "connection-lost";
    } finally {
      if (watch) clearInterval(watch);
      this.channel = undefined;
      this.replyQueue = undefined;
      this.endSession = undefined;
      for (const [id, call] of this.pending) {
        clearTimeout(call.timer);
        call.reject(
          new IotFogError("UNAVAILABLE", "the connection to the NFVO's broker was lost during the call"),
        );
        this.pending.delete(id);
      }
      await closeQuietly(conn);
    }
  }

  private onMessage(ch: Channel, msg: ConsumeMessage | null): void {
    if (msg === null) {
      this.endSession?.(); // consumer cancelled (queue deleted): start over
      return;
    }
    const { replyTo, correlationId } = replyAddress(msg);
    void this.pool.run(async () => {
      try {
        ch.ack(msg);
      } catch {
        return; // the channel closed: the broker redelivers
      }
      let reply: Json | null;
      try {
        reply = await this.handler(msg.content);
      } catch (e) {
        reply = { action: "ERROR", exception: { detailMessage: `VNFM error: ${errorMessage(e)}` } };
      }
      if (!replyTo) {
        this.logger.warn("NFVO message without reply_to, nobody to answer", { action: reply?.action });
        return;
      }
      const current = this.channel ?? ch;
      try {
        sendReply(current, replyTo, correlationId, Buffer.from(JSON.stringify(reply), "utf8"));
      } catch (e) {
        this.logger.warn("VNFM reply failed", { replyTo, error: errorMessage(e) });
      }
    });
  }

  private onReply(msg: ConsumeMessage | null): void {
    if (msg === null) return;
    const id = msg.properties.correlationId as string | undefined;
    const call = id === undefined ? undefined : this.pending.get(id);
    if (call === undefined || id === undefined) return;
    this.pending.delete(id);
    clearTimeout(call.timer);
    const text = msg.content.toString("utf8");
    try {
      const json = JSON.parse(text) as unknown;
      if (typeof json !== "object" || json === null || Array.isArray(json))
        throw new Error("not a JSON object");
      call.resolve(json as Json);
    } catch (e) {
      call.reject(
        new IotFogError("PROTOCOL_ERROR", `the NFVO answered with ${errorMessage(e)}: ${text.slice(0, 200)}`),
      );
    }
  }

  async call(message: Json): Promise<Json> {
    const ch = this.channel;
    const replyTo = this.replyQueue;
    if (ch === undefined || replyTo === undefined) {
      throw new IotFogError("UNAVAILABLE", "not connected to the NFVO's broker");
    }
    const correlationId = randomUUID();
    return new Promise<Json>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(correlationId);
        reject(
          new IotFogError(
            "TIMEOUT",
            `the NFVO did not answer ${String(message.action)} within ${this.opts.rpcTimeoutMs} ms`,
          ),
        );
      }, this.opts.rpcTimeoutMs);
      this.pending.set(correlationId, { resolve, reject, timer });
      try {
        ch.sendToQueue(NFVO_RPC_QUEUE, Buffer.from(JSON.stringify(message), "utf8"), {
          correlationId,
          replyTo,
          contentType: "text/plain",
        });
      } catch (e) {
        clearTimeout(timer);
        this.pending.delete(correlationId);
        reject(new IotFogError("UNAVAILABLE", `cannot send ${String(message.action)}: ${errorMessage(e)}`));
      }
    });
  }

  async notify(message: Json): Promise<void> {
    const ch = this.channel;
    if (ch === undefined) throw new IotFogError("UNAVAILABLE", "not connected to the NFVO's broker");
    ch.sendToQueue(NFVO_ONE_WAY_QUEUE, Buffer.from(JSON.stringify(message), "utf8"), {
      contentType: "text/plain",
    });
  }

  private async deregister(): Promise<void> {
    const credentials = this.credentials;
    if (credentials === undefined) return;
    this.credentials = undefined;
    try {
      await deregisterPlugin(this.opts, registrationUser(this.opts), credentials, {
        vnfmManagerEndpoint: this.endpointRecord(),
      });
      this.logger.info("VNFM deregistered from the NFVO", { type: this.opts.type });
    } catch (e) {
      this.logger.warn("could not deregister the VNFM", { error: errorMessage(e) });
    }
  }
}
