import { readFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import express, { type NextFunction, type Request, type Response } from "express";
import {
  IotFogError,
  IOTFOG_VERSION,
  errorMessage,
  parseWith,
  sameSecret,
  type Logger,
} from "@openiotfog/shared";
import type { LogLine } from "../fleet/orchestrator";
import type { FleetEvent } from "../fleet/types";
import { errorBody, fromHttpError, httpStatusOf } from "./errors";
import {
  deployBodySchema,
  eventsQuerySchema,
  explainBodySchema,
  labelsBodySchema,
  logsQuerySchema,
  streamQuerySchema,
  usageQuerySchema,
  whatIfSchema,
} from "./schemas";
import { registerEnrollRoute, registerSecurityRoutes, type SecuritySurface } from "./security-routes";
import type { FleetService } from "./service";
import { SseStream } from "./sse";

export const API_PREFIX = "/api/v1";

export interface ApiAppOptions {
  service: FleetService;
  /** Bearer token every /api/v1 call (but health and the OpenAPI document) must present. */
  token: string;
  logger: Logger;
  /** The OpenAPI document served at /api/v1/openapi.yaml. */
  openapiFile: string;
  /** Static files of the web GUI, served at / (public: the data behind it needs the token). */
  guiDir?: string;
  /** How often `logs?follow=true` asks the agents for new lines. */
  logPollMs?: number;
  /** Tracks open streams so the server can end them on shutdown. */
  streams?: Set<SseStream>;
  /** `GET /metrics` and `/metrics/targets` (Prometheus), with their own token check (API or scrape token). */
  metrics?: (req: IncomingMessage, res: ServerResponse) => void;
  /** Enrollment, join tokens, revocation, rotation (absent: those routes answer UNSUPPORTED). */
  security?: SecuritySurface;
}

/** The fleet REST API (and the GUI's static files) as an express 5 application. */
export function createApiApp(opts: ApiAppOptions): express.Express {
  const { service, logger } = opts;
  const streams = opts.streams ?? new Set<SseStream>();
  const openapi = readFileSync(opts.openapiFile, "utf8");
  const app = express();
  app.disable("x-powered-by");
  app.set("query parser", "simple");

  app.use((_req, res, next) => {
    // The GUI loads nothing from elsewhere; the policy makes that a guarantee.
    res.setHeader(
      "content-security-policy",
      "default-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'",
    );
    res.setHeader("x-content-type-options", "nosniff");
    res.setHeader("referrer-policy", "no-referrer");
    next();
  });

  const metrics = opts.metrics;
  if (metrics !== undefined) app.get(["/metrics", "/metrics/targets"], (req, res) => metrics(req, res));

  const api = express.Router();
  api.use(express.json({ limit: "1mb" }));

  api.get("/health", (_req, res) => {
    res.json({ ok: true, version: IOTFOG_VERSION });
  });
  api.get("/openapi.yaml", (_req, res) => {
    res.type("application/yaml").send(openapi);
  });

  registerEnrollRoute(api, opts.security);

  api.use((req, _res, next) => {
    const header = req.get("authorization") ?? "";
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    if (m === null || m[1] === undefined) {
      throw new IotFogError(
        "UNAUTHORIZED",
        header === ""
          ? "missing Authorization header: send `Authorization: Bearer <token>` (iotfog: --token or IOTFOG_API_TOKEN)"
          : "Authorization header must be `Bearer <token>`",
      );
    }
    if (!sameSecret(m[1], opts.token)) throw new IotFogError("UNAUTHORIZED", "invalid API token");
    next();
  });

  registerSecurityRoutes(api, opts.security);

  // ------------------------------------------------------------------------------------------ nodes
  api.get("/nodes", (_req, res) => {
    res.json({ nodes: service.nodes() });
  });
  api.get("/nodes/:nodeId", (req, res) => {
    const node = service.node(param(req, "nodeId"));
    if (node === undefined)
      throw new IotFogError("NOT_FOUND", `node "${param(req, "nodeId")}" is not known to the fleet`);
    res.json(node);
  });
  api.patch("/nodes/:nodeId/labels", async (req, res) => {
    const body = parseWith(labelsBodySchema, req.body ?? {}, "body", "BAD_REQUEST");
    const labels = await service.setLabels(param(req, "nodeId"), body);
    res.json({ nodeId: param(req, "nodeId"), labels });
  });

  // ------------------------------------------------------------------------------------------ deployments
  api.get("/deployments", async (_req, res) => {
    res.json({ deployments: await service.deployments() });
  });
  api.get("/deployments/:id", async (req, res) => {
    res.json(await service.deployment(param(req, "id")));
  });
  api.post("/deployments", async (req, res) => {
    const body = parseWith(deployBodySchema, req.body ?? {}, "body", "BAD_REQUEST");
    if (!(req.get("accept") ?? "").includes("application/x-ndjson")) {
      const deployment = await service.deploy(body);
      res.status(201).json(deployment);
      return;
    }
    // Progress as it happens, one JSON object per line; the last line is the result or the error.
    res.status(200).type("application/x-ndjson");
    res.flushHeaders();
    const line = (o: unknown): void => {
      if (!res.writableEnded) res.write(`${JSON.stringify(o)}\n`);
    };
    try {
      const deployment = await service.deploy(body, (p) => line({ type: "progress", ...p }));
      line({ type: "result", deployment });
    } catch (e) {
      const err = fromHttpError(e) ?? new IotFogError("INTERNAL", errorMessage(e));
      line({ type: "error", status: httpStatusOf(err), ...errorBody(err) });
    }
    res.end();
  });
  api.delete("/deployments/:id", async (req, res) => {
    res.json(await service.remove(param(req, "id")));
  });
  api.get("/deployments/:id/logs", async (req, res) => {
    const q = parseWith(logsQuerySchema, req.query, "query", "BAD_REQUEST");
    const id = param(req, "id");
    const select = {
      ...(q.service === undefined ? {} : { service: q.service }),
      ...(q.replica === undefined ? {} : { replica: q.replica }),
    };
    const first = await service.logs(id, {
      ...select,
      tail: q.tail ?? 100,
      timestamps: q.timestamps ?? q.follow ?? false,
    });
    if (q.follow !== true) {
      res.json({ lines: first });
      return;
    }
    const stream = new SseStream(req, res);
    streams.add(stream);
    stream.onClose(() => streams.delete(stream));
    const seen = new LogCursor();
    // Following needs timestamps to tell new lines from old ones; strip them unless the caller asked.
    const out = (l: LogLine): LogLine =>
      q.timestamps === true ? l : { ...l, line: l.line.replace(/^\S+\s/, "") };
    for (const l of seen.fresh(first)) stream.send(out(l), { event: "log" });
    const poll = async (): Promise<void> => {
      while (!stream.isClosed) {
        await new Promise((r) => setTimeout(r, opts.logPollMs ?? 1000));
        if (stream.isClosed) break;
        try {
          const lines = await service.logs(id, { ...select, tail: 200, timestamps: true });
          for (const l of seen.fresh(lines)) stream.send(out(l), { event: "log" });
        } catch (e) {
          stream.send({ message: errorMessage(e) }, { event: "problem" });
          if (e instanceof IotFogError && e.code === "NOT_FOUND") stream.close();
        }
      }
    };
    void poll();
  });

  // ------------------------------------------------------------------------------------------ placement
  api.post("/placement/explain", async (req, res) => {
    const body = parseWith(explainBodySchema, req.body ?? {}, "body", "BAD_REQUEST");
    const { whatIf, nMinusOne, ...workload } = body;
    res.json(
      await service.explain(workload, {
        ...(whatIf === undefined ? {} : { whatIf }),
        ...(nMinusOne === undefined ? {} : { nMinusOne }),
      }),
    );
  });
  api.post("/placement/what-if", (req, res) => {
    const body = parseWith(whatIfSchema, req.body ?? {}, "body", "BAD_REQUEST");
    res.json(service.whatIf(body));
  });

  // ------------------------------------------------------------------------------------------ usage
  api.get("/usage", (req, res) => {
    const q = parseWith(usageQuerySchema, req.query, "query", "BAD_REQUEST");
    res.json(service.usage(q.since ?? 0));
  });

  // ------------------------------------------------------------------------------------------ events
  api.get("/events", (req, res) => {
    const q = parseWith(eventsQuerySchema, req.query, "query", "BAD_REQUEST");
    res.json({
      events: service.recentEvents({
        ...(q.since === undefined ? {} : { since: q.since }),
        ...(q.limit === undefined ? {} : { limit: q.limit }),
        ...(q.type === undefined ? {} : { types: q.type }),
        ...(q.node === undefined ? {} : { nodeId: q.node }),
      }),
    });
  });
  api.get("/events/stream", (req, res) => {
    const q = parseWith(streamQuerySchema, req.query, "query", "BAD_REQUEST");
    const lastEventId = Number(req.get("last-event-id") ?? Number.NaN);
    const since = Number.isInteger(lastEventId) ? lastEventId : q.since;
    const stream = new SseStream(req, res);
    streams.add(stream);
    const send = (e: FleetEvent): void => stream.send(e, { id: e.id });
    // Subscribe before replaying, and skip what the replay already sent, so nothing falls in between.
    let replayedUpTo = 0;
    const unsubscribe = service.subscribe((e) => {
      if (e.id > replayedUpTo) send(e);
    });
    stream.onClose(() => {
      unsubscribe();
      streams.delete(stream);
    });
    if (since !== undefined) {
      for (const e of service.recentEvents({ since, limit: 1000 })) {
        send(e);
        replayedUpTo = e.id;
      }
    }
    stream.comment("ready");
  });

  api.use((req) => {
    throw new IotFogError("NOT_FOUND", `no such endpoint: ${req.method} ${API_PREFIX}${req.path}`);
  });

  api.use((e: unknown, req: Request, res: Response, _next: NextFunction) => {
    const err = fromHttpError(e) ?? new IotFogError("INTERNAL", errorMessage(e));
    const status = httpStatusOf(err);
    if (status >= 500)
      logger.warn("API request failed", { method: req.method, path: req.path, error: err.message });
    if (res.headersSent) {
      res.end();
      return;
    }
    if (status === 401) res.setHeader("www-authenticate", 'Bearer realm="iotfog"');
    res.status(status).json(errorBody(err));
  });

  app.use(API_PREFIX, api);
  if (opts.guiDir !== undefined) app.use(express.static(opts.guiDir, { index: "index.html", maxAge: 0 }));
  return app;
}

function param(req: Request, name: string): string {
  const v = req.params[name];
  return typeof v === "string" ? v : "";
}

/** Remembers which log lines a follower already got, by replica and timestamp. */
class LogCursor {
  private readonly last = new Map<string, { stamp: string; seenAtStamp: Set<string> }>();

  fresh(lines: LogLine[]): LogLine[] {
    const out: LogLine[] = [];
    for (const l of lines) {
      const key = `${l.service}#${l.replica}`;
      const stamp = /^(\S+)\s/.exec(l.line)?.[1] ?? "";
      const cur = this.last.get(key);
      if (cur !== undefined && stamp < cur.stamp) continue;
      if (cur !== undefined && stamp === cur.stamp) {
        if (cur.seenAtStamp.has(l.line)) continue;
        cur.seenAtStamp.add(l.line);
      } else {
        this.last.set(key, { stamp, seenAtStamp: new Set([l.line]) });
      }
      out.push(l);
    }
    return out;
  }
}
