import type { Channel, ChannelModel, ConsumeMessage } from "amqplib";
import {
  DEFAULT_LIMITS,
  LimitRefusals,
  errorMessage,
  sleep,
  type Component,
  type Logger,
} from "@openiotfog/shared";
import { WorkerPool } from "../util/worker-pool";
import { prepareRequest, type RequestObserver } from "./dispatcher";
import type { VimOperations } from "./methods";
import {
  OPENBATON_EXCHANGE,
  PLUGIN_QUEUE_OPTIONS,
  encodeReply,
  exceptionReply,
  pluginId,
  type ManagerCredentials,
  type PluginReply,
} from "./protocol";
import { closeQuietly, deregisterPlugin, describeBroker } from "./registration";
import {
  openManagerChannel,
  registrationUser,
  replyAddress,
  runManagerLoop,
  sendReply,
  watchRegistrationQueue,
  type ManagerOptions,
  type SessionEnd,
} from "./session";

export interface PluginServerOptions extends ManagerOptions {
  type: string;
  name: string;
  workers: number;
  nfvoWatchMs: number;
  shutdownGraceMs: number;
  managementUrl?: string | undefined;
  /** Background jobs (deletions) running or waiting; default DEFAULT_LIMITS.backgroundJobs. */
  maxBackgroundJobs?: number;
  /** Told of every request answered (metrics). */
  onRequest?: RequestObserver;
}

/** How long a finished request waits for a reconnect to deliver its reply before dropping it. */
const REPLY_WAIT_MS = 10000;

/**
 * The Open Baton plugin endpoint (docs/openbaton-protocol.md §1–§3): registers through
 * `nfvo.manager.handling`, reconnects with the credentials it gets, consumes `vim-drivers.<type>.<name>` with the
 * NFVO's queue flags, runs requests in a bounded pool, and replies on the default exchange. When the broker or
 * the NFVO restarts it registers again and re-declares; on stop it drains and deregisters.
 */
export class PluginServer implements Component {
  readonly name = "openbaton-plugin";
  readonly queue: string;
  private readonly pool: WorkerPool;
  /** Deletions are fire-and-forget for the NFVO: they get their own slots so they never block launches. */
  private readonly background: WorkerPool;
  private readonly abort = new AbortController();
  private loopDone: Promise<void> | undefined;
  private channel: Channel | undefined;
  private channelWaiters: Array<(ch: Channel | undefined) => void> = [];
  private credentials: ManagerCredentials | undefined;
  private endSession: ((why: SessionEnd) => void) | undefined;
  private sessions = 0;
  private consumerTag: string | undefined;
  /** Set on stop: requests that have not started are left unacknowledged, so the broker requeues them. */
  private draining = false;
  /** Background jobs refused because maxBackgroundJobs were running or waiting. */
  readonly backgroundRefusals: LimitRefusals;

  constructor(
    private readonly opts: PluginServerOptions,
    private readonly ops: VimOperations,
    private readonly logger: Logger,
  ) {
    this.queue = pluginId(opts.type, opts.name);
    this.pool = new WorkerPool(opts.workers);
    const maxBackground = opts.maxBackgroundJobs ?? DEFAULT_LIMITS.backgroundJobs;
    // Background jobs are acknowledged on receipt, so the broker's prefetch does not bound them: this does.
    this.background = new WorkerPool(opts.workers, maxBackground);
    this.backgroundRefusals = new LimitRefusals("background jobs", maxBackground, logger);
  }

  /** How many times the driver has (re)started serving its queue; for status output and tests. */
  get sessionCount(): number {
    return this.sessions;
  }

  async start(): Promise<void> {
    // Registration waits for the NFVO, which may start later: serve in the background, never block start-up.
    this.loopDone = this.loop();
  }

  async stop(): Promise<void> {
    if (this.abort.signal.aborted) return this.loopDone;
    this.abort.abort();
    this.endSession?.("stopping");
    await this.loopDone;
  }

  private async loop(): Promise<void> {
    await runManagerLoop(this.opts, {
      signal: this.abort.signal,
      type: this.queue,
      registered: (credentials) => (this.credentials = credentials),
      serve: (credentials, onServing) => this.serve(credentials, onServing),
      registrationFailed: (e, retryInMs) =>
        this.logger.warn("registration with the NFVO failed, retrying", {
          plugin: this.queue,
          broker: describeBroker(this.opts),
          error: errorMessage(e),
          retryInMs,
        }),
      sessionFailed: (e) =>
        this.logger.warn("plugin session failed", { plugin: this.queue, error: errorMessage(e) }),
      sessionLost: (why, retryInMs) =>
        this.logger.warn("lost the plugin session, registering again", {
          plugin: this.queue,
          why,
          retryInMs,
        }),
    });
    await this.shutdown();
  }

  /** One connected session: returns when the connection is lost, the NFVO restarted, or we stop. */
  private async serve(credentials: ManagerCredentials, onServing: () => void): Promise<SessionEnd> {
    let ended: SessionEnd | undefined;
    const end = new Promise<SessionEnd>((resolve) => {
      this.endSession = (why) => {
        ended ??= why;
        resolve(ended);
      };
    });
    let conn: ChannelModel | undefined;
    let watch: NodeJS.Timeout | undefined;
    try {
      const session = await openManagerChannel(
        this.opts,
        credentials,
        { logger: this.logger, label: "AMQP" },
        () => this.endSession?.("connection-lost"),
      );
      conn = session.conn;
      const ch = session.ch;
      // The plugin user may not declare the exchange (the NFVO owns it): a passive check only.
      await ch.checkExchange(OPENBATON_EXCHANGE);
      await ch.assertQueue(this.queue, PLUGIN_QUEUE_OPTIONS);
      await ch.bindQueue(this.queue, OPENBATON_EXCHANGE, this.queue);
      // Unacked messages are the ones waiting for a slot: at most `workers` queue up behind the running ones.
      await ch.prefetch(this.opts.workers);
      const consumer = await ch.consume(this.queue, (msg) => this.onMessage(ch, msg), { noAck: false });
      this.consumerTag = consumer.consumerTag;
      this.channel = ch;
      for (const w of this.channelWaiters.splice(0)) w(ch);
      this.sessions += 1;
      onServing();
      this.logger.info("serving Open Baton requests", {
        queue: this.queue,
        broker: describeBroker(this.opts),
        workers: this.opts.workers,
      });
      void this.checkVisibility(credentials);
      if (this.opts.nfvoWatchMs > 0) {
        watch = watchRegistrationQueue(conn, this.opts.nfvoWatchMs, {
          gone: () => this.logger.warn("the NFVO stopped consuming its registration queue"),
          back: () => {
            // Its database forgot us; registering again also makes it refresh our VIMs.
            this.logger.info("the NFVO is back, registering again");
            this.endSession?.("nfvo-restarted");
          },
        });
      }
      if (ended === undefined && this.abort.signal.aborted) this.endSession?.("stopping");
      const why = await end;
      if (why === "stopping") await this.drain(ch);
      return why;
    } finally {
      if (watch) clearInterval(watch);
      this.channel = undefined;
      this.endSession = undefined;
      await closeQuietly(conn); // the broker may have closed it already
    }
  }

  private onMessage(ch: Channel, msg: ConsumeMessage | null): void {
    if (msg === null) {
      // Consumer cancelled by the broker (queue deleted): start over.
      this.endSession?.("connection-lost");
      return;
    }
    const { replyTo, correlationId } = replyAddress(msg);
    const job = prepareRequest(msg.content, this.ops, this.logger, this.opts.onRequest);
    if (!replyTo) {
      this.logger.warn("request without reply_to, nobody to answer", { method: job.method });
    }
    // Acknowledge when the job starts, as the Open Baton SDKs do on receipt: a request is never run twice,
    // and a request still waiting for a slot goes back to the queue if we die or stop.
    const ack = (): boolean => {
      try {
        ch.ack(msg);
        return true;
      } catch {
        return false; // the channel closed meanwhile; the broker redelivers the message
      }
    };
    if (job.background && !ack()) return;
    if (job.background && this.background.full) {
      this.backgroundRefusals.refuse({ method: job.method });
      const busy = exceptionReply(
        `driver busy: ${this.background.maxJobs} background jobs running or waiting; ${job.method} refused`,
      );
      if (replyTo) void this.reply(replyTo, correlationId, busy, job.method);
      return;
    }
    const pool = job.background ? this.background : this.pool;
    void pool
      .run(async (): Promise<PluginReply | undefined> => {
        if (!job.background && (this.draining || !ack())) return undefined;
        return job.run();
      })
      .catch((e: unknown) => exceptionReply(`driver error: ${errorMessage(e)}`))
      .then((reply) =>
        reply !== undefined && replyTo ? this.reply(replyTo, correlationId, reply, job.method) : undefined,
      );
  }

  /** Publishes on the default exchange (works for every reply-to style); waits briefly across a reconnect. */
  private async reply(
    replyTo: string,
    correlationId: string | undefined,
    reply: PluginReply,
    method: string,
  ): Promise<void> {
    const body = encodeReply(reply);
    let ch = this.channel;
    if (ch === undefined && !this.abort.signal.aborted) {
      ch = await new Promise<Channel | undefined>((resolve) => {
        const timer = setTimeout(() => resolve(undefined), REPLY_WAIT_MS);
        this.channelWaiters.push((c) => {
          clearTimeout(timer);
          resolve(c);
        });
      });
    }
    if (ch === undefined) {
      this.logger.warn("reply dropped: no connection to the broker", { method, replyTo });
      return;
    }
    try {
      sendReply(ch, replyTo, correlationId, body);
    } catch (e) {
      this.logger.warn("reply failed", { method, error: errorMessage(e) });
    }
  }

  /** The NFVO finds plugins through the management API; say so early if it would not see us. */
  private async checkVisibility(credentials: ManagerCredentials): Promise<void> {
    const base = this.opts.managementUrl;
    if (base === undefined) return;
    const path = `/api/queues/${encodeURIComponent(this.opts.vhost)}/${encodeURIComponent(this.queue)}`;
    try {
      const auth = Buffer.from(`${credentials.rabbitUsername}:${credentials.rabbitPassword}`).toString(
        "base64",
      );
      const res = await fetch(new URL(path, base), { headers: { authorization: `Basic ${auth}` } });
      if (res.ok)
        this.logger.info("plugin queue visible in the RabbitMQ management API", { queue: this.queue });
      else
        this.logger.warn("the NFVO may not find this driver", { queue: this.queue, management: res.status });
    } catch (e) {
      this.logger.warn("RabbitMQ management API unreachable; the NFVO looks plugins up there", {
        url: base,
        error: errorMessage(e),
      });
    }
  }

  /** Stop taking requests, let running ones answer (bounded by the grace period). */
  private async drain(ch: Channel): Promise<void> {
    this.draining = true;
    try {
      if (this.consumerTag !== undefined) await ch.cancel(this.consumerTag);
    } catch {
      // channel already gone
    }
    const cutShort = new AbortController();
    const grace = sleep(this.opts.shutdownGraceMs, cutShort.signal);
    await Promise.race([Promise.all([this.pool.idle(), this.background.idle()]), grace]);
    cutShort.abort(); // no timer may outlive the driver
  }

  private async shutdown(): Promise<void> {
    for (const w of this.channelWaiters.splice(0)) w(undefined); // replies still waiting are dropped
    const credentials = this.credentials;
    if (credentials === undefined) return;
    this.credentials = undefined;
    try {
      await deregisterPlugin(this.opts, registrationUser(this.opts), credentials);
      this.logger.info("deregistered from the NFVO", { plugin: this.queue });
    } catch (e) {
      this.logger.warn("could not deregister from the NFVO", { plugin: this.queue, error: errorMessage(e) });
    }
  }
}
