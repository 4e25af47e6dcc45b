import { Context, Router, type Socket } from "zeromq";
import type { Logger } from "../logging";
import { sleep } from "../backoff";
import { keyFingerprint } from "./keys";
import { z85Encode } from "./z85";

/** libzmq asks the ZAP handler bound here, in the same context, about every handshake of a server socket. */
const ZAP_ENDPOINT = "inproc://zeromq.zap.01";

/** Who a CURVE server socket lets in, asked once per connection handshake. */
export interface ZapPolicy {
  /** True if a client with this public key (Z85) may connect. */
  allows(clientKey: string): boolean;
  /** Told about every refusal (ZAP or a failed handshake), to count and log it. */
  refused(refusal: Refusal): void;
}

export interface Refusal {
  /** Why: an unknown key, or a handshake that failed before any key was shown (no CURVE, wrong server key). */
  reason: "unknown-key" | "handshake-failed" | "not-from-enrolled-node";
  address: string;
  clientKey?: string;
  detail?: string;
}

/** The ZAP handler's state: one per process (see `zapState`). */
interface ZapState {
  domains: Map<string, ZapPolicy>;
  socket: Router | undefined;
  loop: Promise<void> | undefined;
  starting: Promise<void> | undefined;
  closing: Promise<void>;
}

/**
 * The process's one ZAP handler (ZeroMQ allows one per context, and the context is the process's). Each CURVE
 * server socket has its own ZAP domain, registered with its policy; several agents in one process (tests,
 * `iotfog up`) each have theirs. A domain nobody registered, or a mechanism other than CURVE, is refused.
 *
 * The handler and the CURVE server sockets live in a ZeroMQ context of their own (`curveContext`): a ZAP handler
 * belongs to a context, and a test runner that loads a fresh copy of this module per test file then gets a fresh
 * context and handler per file instead of sharing (and outliving) one.
 */
export const curveContext = new Context();

const zapState: ZapState = {
  domains: new Map(),
  socket: undefined,
  loop: undefined,
  starting: undefined,
  closing: Promise.resolve(),
};

async function registerZapDomain(domain: string, policy: ZapPolicy): Promise<() => Promise<void>> {
  zapState.domains.set(domain, policy);
  await ensureZapHandler();
  return async () => {
    if (zapState.domains.get(domain) === policy) zapState.domains.delete(domain);
    if (zapState.domains.size === 0) await closeZapHandler();
  };
}

function ensureZapHandler(): Promise<void> {
  if (zapState.socket !== undefined) return Promise.resolve();
  zapState.starting ??= (async () => {
    await zapState.closing;
    const socket = new Router({ linger: 0, context: curveContext });
    // A handler closed a moment ago may still hold the endpoint while ZeroMQ finishes closing it.
    for (let attempt = 0; ; attempt++) {
      try {
        await socket.bind(ZAP_ENDPOINT);
        break;
      } catch (e) {
        if (attempt >= 100) {
          socket.close();
          throw e;
        }
        await sleep(20);
      }
    }
    zapState.socket = socket;
    zapState.loop = serveZap(socket);
  })().finally(() => (zapState.starting = undefined));
  return zapState.starting;
}

/** Closes the handler when no domain is left, so an idle process has no socket keeping it alive. */
function closeZapHandler(): Promise<void> {
  zapState.closing = (async () => {
    await zapState.starting?.catch(() => undefined);
    const socket = zapState.socket;
    if (socket === undefined || zapState.domains.size > 0) return;
    zapState.socket = undefined;
    socket.close();
    await zapState.loop;
  })();
  return zapState.closing;
}

/** One ZAP request: admitted only if a registered policy says so; whatever goes wrong is a refusal. */
function judge(frames: Buffer[]): { ok: boolean; clientKey?: string } {
  const [, , version, , domain, address, , mechanism, key] = frames;
  const policy = zapState.domains.get(domain?.toString() ?? "");
  let clientKey: string | undefined;
  let ok = false;
  try {
    if (version?.toString() === "1.0" && mechanism?.toString() === "CURVE" && key?.length === 32) {
      clientKey = z85Encode(key);
      ok = policy?.allows(clientKey) ?? false;
    }
    if (!ok) {
      policy?.refused({
        reason: "unknown-key",
        address: address?.toString() ?? "?",
        ...(clientKey === undefined ? {} : { clientKey }),
      });
    }
  } catch {
    // A policy that fails (its trust list unreadable, its logger gone) admits nobody; the handler goes on.
    ok = false;
  }
  return ok && clientKey !== undefined ? { ok, clientKey } : { ok: false };
}

async function serveZap(socket: Router): Promise<void> {
  try {
    for await (const frames of socket) {
      const [routingId, delimiter, , requestId] = frames;
      if (routingId === undefined || requestId === undefined) continue;
      const { ok, clientKey } = judge(frames);
      await socket.send([
        routingId,
        delimiter ?? Buffer.alloc(0),
        "1.0",
        requestId,
        ok ? "200" : "400",
        ok ? "OK" : "not an enrolled key",
        clientKey ?? "",
        "",
      ]);
    }
  } catch {
    // Closed: the loop ends with the socket.
  } finally {
    // Whatever ended the loop, the next registration starts a new handler rather than trusting a dead one.
    if (zapState.socket === socket) {
      zapState.socket = undefined;
      socket.close();
    }
  }
}

export interface CurveServer {
  /**
   * Closes the socket, waits until libzmq has stopped its monitor, then ends the ZAP domain. Close a CURVE
   * server socket only through this (see `makeCurveServer`).
   */
  close(): Promise<void>;
}

/** How long `close` waits for libzmq to stop a closed socket's monitor before leaving the watch to end alone. */
const MONITOR_STOP_WAIT_MS = 5000;

/**
 * Makes `socket` (created with `context: curveContext`) a CurveZMQ server with `secretKey` whose clients `policy`
 * admits. Call before bind: the ZAP handler is running by the time this resolves, and zapEnforceDomain makes
 * libzmq refuse rather than admit when no handler answers. Failed handshakes (a client without CURVE, or
 * expecting another server key) are reported to the policy too, from the socket's monitor events.
 *
 * The monitor is read until libzmq itself ends it ("end", sent when the closed socket is destroyed), never
 * closed from our side: libzmq sends monitor events with a blocking send from the context's I/O thread, so a
 * socket that outlives its monitor's reader and then reports one more event (its listener closing, a peer
 * leaving) blocks that thread for good, and with it every other socket of the context (a restarted agent's new
 * ROUTER then accepts no connection). Hence `close` closes the socket first and lets the monitor drain.
 */
export async function makeCurveServer(
  socket: Socket,
  secretKey: string,
  domain: string,
  policy: ZapPolicy,
): Promise<CurveServer> {
  socket.curveServer = true;
  socket.curveSecretKey = secretKey;
  socket.zapDomain = domain;
  socket.zapEnforceDomain = true;
  const unregister = await registerZapDomain(domain, policy);
  const events = socket.events;
  // Our own receive loop, not events.on(): the emitter mode's loop rejects unhandled when the socket closes.
  const watching = (async () => {
    try {
      while (!events.closed) {
        const e = await events.receive();
        if (e.type !== "handshake:error:protocol" && e.type !== "handshake:error:other") continue;
        policy.refused({
          reason: "handshake-failed",
          address: e.address,
          detail: `${e.type === "handshake:error:protocol" ? "protocol error" : "handshake failed"}: ${e.error.message}`,
        });
      }
    } catch {
      // The monitor ended with its socket.
    }
  })();
  let closing: Promise<void> | undefined;
  return {
    close: () =>
      (closing ??= (async () => {
        socket.close();
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          watching,
          new Promise<void>((resolve) => (timer = setTimeout(resolve, MONITOR_STOP_WAIT_MS))),
        ]);
        clearTimeout(timer);
        await unregister();
      })()),
  };
}

/** Client options: our key pair and the server's public key (which a handshake proves the server holds). */
export function curveClientOptions(client: { publicKey: string; secretKey: string }, serverKey: string) {
  return { curvePublicKey: client.publicKey, curveSecretKey: client.secretKey, curveServerKey: serverKey };
}

/**
 * Counts refusals and logs them without letting a client that retries in a loop flood the log: the first
 * refusal from an address is logged, then at most one line per address a minute with the count since.
 */
export class RefusalLog {
  total = 0;
  private readonly lastLogged = new Map<string, { at: number; since: number }>();

  constructor(
    private readonly logger: Logger,
    private readonly what: string,
  ) {}

  record(r: Refusal): void {
    this.total++;
    const now = Date.now();
    const last = this.lastLogged.get(r.address);
    if (last !== undefined && now - last.at < 60000) {
      last.since++;
      return;
    }
    if (this.lastLogged.size > 1000) this.lastLogged.clear();
    this.lastLogged.set(r.address, { at: now, since: 0 });
    this.logger.warn(`${this.what}: refused`, {
      reason: r.reason,
      address: r.address,
      ...(r.clientKey === undefined ? {} : { clientKey: keyFingerprint(r.clientKey) }),
      ...(r.detail === undefined ? {} : { detail: r.detail }),
      refusedSinceLastLine: last?.since ?? 0,
      refusedTotal: this.total,
    });
  }
}
