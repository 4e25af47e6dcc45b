import express, { type NextFunction, type Request, type Response } from "express";
import {
  IotFogError,
  deploymentIdSchema,
  errorMessage,
  parseWith,
  sameSecret,
  toIotFogError,
  type ErrorCode,
  type Logger,
} from "@openiotfog/shared";
import { matchesFilter, type AgentEvent, type EventFilter } from "../monitoring/events";
import {
  restDeployBodySchema,
  restEventsQuerySchema,
  restRemoveQuerySchema,
  type RestBackend,
} from "./schemas";

export interface RestAppOptions {
  backend: RestBackend;
  /** Bearer token every write needs (and every read unless openReads). */
  token: string;
  /** Let reads through without a token (health and readiness are always open, for probes). */
  openReads: boolean;
  logger: Logger;
  /** Largest JSON body accepted. Default 1 MiB (a blueprint is a few KiB). */
  bodyLimitBytes?: number;
  /** SSE keep-alive comment interval. Default 15 s (below common proxy idle timeouts). */
  sseKeepAliveMs?: number;
}

export interface RestApp {
  app: express.Express;
  /** Ends every open event stream (for shutdown: otherwise server.close waits on them forever). */
  closeStreams(): void;
}

const STATUS_BY_CODE: Partial<Record<ErrorCode, number>> = {
  VALIDATION_FAILED: 400,
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  NOT_FOUND: 404,
  CONFLICT: 409,
  ADMISSION_REFUSED: 422,
  POLICY_REFUSED: 403,
  PLACEMENT_FAILED: 422,
  UNSUPPORTED: 501,
  UNAVAILABLE: 503,
  TIMEOUT: 504,
};

/**
 * The agent's local REST API (express 5). JSON in, JSON out; every error is `{ error: { code, message,
 * details? } }` with a status that matches the code, and every body and query is validated so a 400 names
 * the field. Async handler rejections reach the error handler (express 5 forwards them).
 */
export function createRestApp(opts: RestAppOptions): RestApp {
  const { backend, logger } = opts;
  if (opts.token.length < 8) {
    throw new IotFogError("CONFIG_INVALID", "rest token must be at least 8 characters");
  }
  const streams = new Set<Response>();
  const app = express();
  app.disable("x-powered-by");
  app.set("query parser", "simple");

  // Probes: open, cheap, no body.
  app.get("/healthz", (_req, res) => {
    res.json({ status: "ok", nodeId: backend.nodeId });
  });
  app.get("/readyz", async (_req, res) => {
    const report = await backend.readiness();
    res.status(report.ready ? 200 : 503).json(report);
  });

  const api = express.Router();
  api.use((req, _res, next) => {
    const isRead = req.method === "GET" || req.method === "HEAD";
    if (isRead && opts.openReads) return next();
    const header = req.get("authorization");
    let presented: string | undefined;
    if (header !== undefined) {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
      if (m === null) {
        throw new IotFogError("UNAUTHORIZED", "the Authorization header must be `Bearer <token>`");
      }
      presented = m[1];
    } else if (isRead && req.path === "/events/stream" && typeof req.query.access_token === "string") {
      presented = req.query.access_token;
    }
    if (presented === undefined) {
      throw new IotFogError("UNAUTHORIZED", "this API needs a bearer token (Authorization: Bearer <token>)");
    }
    if (!sameSecret(presented, opts.token)) {
      throw new IotFogError("UNAUTHORIZED", "the bearer token is not valid for this agent");
    }
    next();
  });
  api.use(express.json({ limit: opts.bodyLimitBytes ?? 1024 * 1024, type: () => true }));

  api.get("/status", async (_req, res) => {
    res.json(await backend.status());
  });
  api.get("/capabilities", async (_req, res) => {
    res.json(await backend.capabilities());
  });
  api.get("/containers", async (_req, res) => {
    res.json({ containers: await backend.containers() });
  });
  api.get("/deployments", async (_req, res) => {
    res.json({ deployments: await backend.deployments() });
  });
  api.get("/deployments/:id", async (req, res) => {
    const id = parseWith(deploymentIdSchema, req.params.id, "path parameter deploymentId");
    const found = (await backend.deployments()).find((d) => d.deploymentId === id);
    if (found === undefined) throw new IotFogError("NOT_FOUND", `no deployment ${id} on ${backend.nodeId}`);
    res.json(found);
  });
  api.post("/deployments", async (req, res) => {
    if (req.body === undefined || req.body === null) {
      throw new IotFogError("BAD_REQUEST", "request body: a JSON object is required");
    }
    const body = parseWith(restDeployBodySchema, req.body, "request body");
    const deployments = await backend.deploy(body);
    res.status(deployments.some((d) => d.created) ? 201 : 200).json({ deployments });
  });
  api.delete("/deployments/:id", async (req, res) => {
    const id = parseWith(deploymentIdSchema, req.params.id, "path parameter deploymentId");
    const query = parseWith(restRemoveQuerySchema, req.query, "query");
    res.json(await backend.remove(id, query.timeoutSeconds));
  });
  api.get("/events", (req, res) => {
    const filter = toFilter(parseWith(restEventsQuerySchema, req.query, "query"));
    res.json({ events: backend.events.history({ ...filter, limit: filter.limit ?? 100 }) });
  });
  api.get("/events/stream", (req, res) => {
    const query = parseWith(restEventsQuerySchema, req.query, "query");
    const filter = toFilter(query);
    const lastId = req.get("last-event-id");
    if (lastId !== undefined && /^\d+$/.test(lastId)) filter.afterSeq = Number(lastId);
    res.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache, no-transform",
      connection: "keep-alive",
      "x-accel-buffering": "no",
    });
    res.flushHeaders();
    const send = (event: AgentEvent): void => {
      res.write(`id: ${event.seq}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
    };
    // Replay first (only when the client says where it stopped), then live; no gap since both run on one tick.
    if (filter.afterSeq !== undefined) {
      for (const e of backend.events.history({ ...filter, limit: undefined })) send(e);
    } else {
      res.write(": connected\n\n");
    }
    const live: EventFilter = { ...filter, afterSeq: undefined, limit: undefined };
    const unsubscribe = backend.events.subscribe((e) => {
      if (matchesFilter(e, live)) send(e);
    });
    const keepAlive = setInterval(() => res.write(": keep-alive\n\n"), opts.sseKeepAliveMs ?? 15000);
    streams.add(res);
    const done = (): void => {
      clearInterval(keepAlive);
      unsubscribe();
      streams.delete(res);
    };
    res.on("close", done);
  });

  app.use("/api/v1", api);

  app.use((req, _res) => {
    throw new IotFogError("NOT_FOUND", `no route ${req.method} ${req.path}`);
  });
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const e = fromExpressError(err);
    const status = tooLarge(err) ? 413 : (STATUS_BY_CODE[e.code] ?? 500);
    if (status >= 500)
      logger.warn("REST request failed", { method: req.method, path: req.path, error: e.message });
    else
      logger.debug("REST request refused", { method: req.method, path: req.path, status, error: e.message });
    if (status === 401) res.set("www-authenticate", 'Bearer realm="iotfog-agent"');
    if (res.headersSent) {
      res.end();
      return;
    }
    res.status(status).json({ error: e.toJSON() });
  });

  return {
    app,
    closeStreams: () => {
      for (const res of streams) res.end();
      streams.clear();
    },
  };
}

function toFilter(q: {
  after?: number;
  types?: string[];
  deploymentId?: string;
  limit?: number;
}): EventFilter {
  const filter: EventFilter = {};
  if (q.after !== undefined) filter.afterSeq = q.after;
  if (q.types !== undefined) filter.types = q.types;
  if (q.deploymentId !== undefined) filter.deploymentId = q.deploymentId;
  if (q.limit !== undefined) filter.limit = q.limit;
  return filter;
}

function tooLarge(err: unknown): boolean {
  return err !== null && typeof err === "object" && (err as { type?: unknown }).type === "entity.too.large";
}

/** body-parser errors carry `type` and `status`; everything else goes through toIotFogError. */
function fromExpressError(err: unknown): IotFogError {
  if (err instanceof IotFogError) return err;
  const e = err as { type?: unknown; status?: unknown; message?: unknown; limit?: unknown };
  if (e !== null && typeof e === "object" && typeof e.type === "string") {
    if (e.type === "entity.parse.failed") {
      return new IotFogError("BAD_REQUEST", `request body is not valid JSON: ${errorMessage(err)}`);
    }
    if (e.type === "entity.too.large") {
      return new IotFogError("BAD_REQUEST", `request body is larger than ${String(e.limit)} bytes`);
    }
    if (typeof e.status === "number" && e.status >= 400 && e.status < 500) {
      return new IotFogError("BAD_REQUEST", `request body: ${errorMessage(err)}`);
    }
  }
  return toIotFogError(err);
}
