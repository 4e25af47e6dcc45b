import amqp, { type Channel, type ChannelModel, type ConsumeMessage } from "amqplib";
import { Backoff, errorMessage, sleep, type Logger } from "@openiotfog/shared";
import { REGISTRATION_QUEUE, type ManagerCredentials } from "./protocol";
import {
  closeQuietly,
  connectOptions,
  registerPlugin,
  socketOptions,
  type BrokerAddress,
} from "./registration";

/**
 * What a registered manager (the VIM driver plugin, the VNFM) does with the credentials the NFVO gave it
 * (docs/openbaton-protocol.md §2): connect as that user, answer requests with their correlation id, watch for an NFVO
 * restart, and register again when the session ends.
 */

/** Why one session (a connection with the manager credentials) ended. */
export type SessionEnd = "connection-lost" | "nfvo-restarted" | "stopping";

/**
 * Connects as the manager user and opens a channel. Errors are logged (`<label> connection error`, `<label>
 * channel error`); the connection or the channel closing calls `onLost`. The caller closes the connection.
 */
export async function openManagerChannel(
  broker: BrokerAddress,
  credentials: ManagerCredentials,
  log: { logger: Logger; label: string },
  onLost: () => void,
): Promise<{ conn: ChannelModel; ch: Channel }> {
  const conn = await amqp.connect(
    connectOptions(broker, credentials.rabbitUsername, credentials.rabbitPassword),
    socketOptions(broker),
  );
  conn.on("error", (e: unknown) =>
    log.logger.warn(`${log.label} connection error`, { error: errorMessage(e) }),
  );
  conn.on("close", onLost);
  try {
    const ch = await conn.createChannel();
    ch.on("error", (e: unknown) => log.logger.warn(`${log.label} channel error`, { error: errorMessage(e) }));
    ch.on("close", onLost);
    return { conn, ch };
  } catch (e) {
    await closeQuietly(conn);
    throw e;
  }
}

/** Where a request wants its answer: `reply_to` and `correlation_id`, as the NFVO's clients set them. */
export function replyAddress(msg: ConsumeMessage): { replyTo?: string; correlationId?: string } {
  return msg.properties as { replyTo?: string; correlationId?: string };
}

/** Answers on the default exchange (works for every reply-to style) with the request's correlation id. */
export function sendReply(
  ch: Channel,
  replyTo: string,
  correlationId: string | undefined,
  body: Buffer,
): void {
  ch.sendToQueue(replyTo, body, {
    ...(correlationId === undefined ? {} : { correlationId }),
    contentType: "text/plain",
  });
}

/**
 * The NFVO's default database forgets managers when it restarts, and its registration queue (auto-delete)
 * disappears while it is down. Checks every `everyMs` whether the queue is consumed and says when that changes.
 */
export function watchRegistrationQueue(
  conn: ChannelModel,
  everyMs: number,
  on: { gone?: () => void; back: () => void },
): NodeJS.Timeout {
  let present = true;
  let busy = false;
  return setInterval(() => {
    if (busy) return;
    busy = true;
    void (async () => {
      let now: boolean;
      try {
        const ch = await conn.createChannel();
        ch.on("error", () => undefined);
        try {
          now = (await ch.checkQueue(REGISTRATION_QUEUE)).consumerCount > 0;
          await ch.close();
        } catch {
          now = false; // 404: the channel is closed by the broker
        }
      } catch {
        return; // the connection is going away; its close handler deals with it
      } finally {
        busy = false;
      }
      if (!now && present) on.gone?.();
      if (now && !present) on.back();
      present = now;
    })();
  }, everyMs);
}

/** The settings a manager registers and reconnects with. */
export interface ManagerOptions extends BrokerAddress {
  registrationUser: string;
  registrationPassword: string;
  registrationTimeoutMs: number;
  retryInitialMs: number;
  retryMaxMs: number;
  /** Told when a session is opened again after one ended (metrics). */
  onReconnect?: () => void;
}

/** The registration user of `opts`, as registerPlugin and deregisterPlugin take it. */
export function registrationUser(opts: ManagerOptions): { username: string; password: string } {
  return { username: opts.registrationUser, password: opts.registrationPassword };
}

export interface ManagerLoop {
  signal: AbortSignal;
  /** The `type` of the register message, and its other fields (a VNFM sends its `vnfmManagerEndpoint`). */
  type: string;
  extra?: Record<string, unknown>;
  /** Called as soon as the NFVO answers, so that stopping right then still deregisters. */
  registered(credentials: ManagerCredentials): void;
  /** One session with those credentials; `onServing` resets the backoff. Resolves with why it ended. */
  serve(credentials: ManagerCredentials, onServing: () => void): Promise<SessionEnd>;
  registrationFailed(error: unknown, retryInMs: number): void;
  sessionFailed(error: unknown): void;
  sessionLost(why: SessionEnd, retryInMs: number): void;
}

/**
 * Registers (with backoff, the NFVO may start later), serves, and registers again when the session ends: at once
 * when the NFVO restarted, after a backoff when the connection was lost. Returns once `signal` aborts.
 */
export async function runManagerLoop(opts: ManagerOptions, loop: ManagerLoop): Promise<void> {
  const backoff = new Backoff({ initialMs: opts.retryInitialMs, maxMs: opts.retryMaxMs });
  const { signal } = loop;
  let sessions = 0;
  while (!signal.aborted) {
    let credentials: ManagerCredentials;
    try {
      credentials = await registerPlugin(
        opts,
        registrationUser(opts),
        loop.type,
        opts.registrationTimeoutMs,
        loop.extra,
      );
      loop.registered(credentials);
    } catch (e) {
      const wait = backoff.next();
      loop.registrationFailed(e, wait);
      await sleep(wait, signal);
      continue;
    }
    if (signal.aborted) break;
    let why: SessionEnd;
    if (sessions++ > 0) opts.onReconnect?.();
    try {
      why = await loop.serve(credentials, () => backoff.reset());
    } catch (e) {
      loop.sessionFailed(e);
      why = "connection-lost";
    }
    if (signal.aborted || why === "stopping") break;
    const wait = why === "nfvo-restarted" ? 0 : backoff.next();
    loop.sessionLost(why, wait);
    await sleep(wait, signal);
  }
}
