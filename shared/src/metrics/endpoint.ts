import type { IncomingMessage, ServerResponse } from "node:http";
import { errorMessage } from "../errors";
import { sameSecret } from "../secrets";

/** What serves an exposition: prom-client's Registry (the driver), the agent's own metrics. */
export interface MetricsSource {
  readonly contentType: string;
  metrics(): Promise<string>;
}

/** Latency buckets in seconds, from a 5 ms control call to a 4-minute launch. */
export const LATENCY_BUCKETS_SECONDS = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 240,
] as const;

/** Where every process serves its metrics, on the listener of its REST API. */
export const METRICS_PATH = "/metrics";

/** The bearer token of an Authorization header, or undefined when there is none or it is not `Bearer <token>`. */
export function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  return /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1];
}

/** Whether `presented` is one of `accepted`, each compared with sameSecret (constant time), all of them. */
export function acceptsToken(presented: string, accepted: readonly string[]): boolean {
  let ok = false;
  for (const token of accepted) ok = sameSecret(presented, token) || ok;
  return ok;
}

export interface MetricsEndpointOptions {
  registry: MetricsSource;
  /** Tokens that may read the metrics: the REST API's own token and the optional scrape token. */
  tokens: readonly string[];
  /** Let scrapes through without a token (the agent's `rest.openReads`, which opens every read). */
  open?: boolean;
  /** Realm of the WWW-Authenticate challenge. */
  realm: string;
}

function answer(res: ServerResponse, status: number, code: string, message: string, realm?: string): void {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (realm !== undefined) headers["www-authenticate"] = `Bearer realm="${realm}"`;
  res.writeHead(status, headers);
  res.end(JSON.stringify({ error: { code, message } }));
}

/**
 * Checks the bearer token of a scrape (or of Prometheus' service discovery): the REST API's token or the scrape
 * token. Answers 405 / 401 itself and returns false when the request must go no further.
 */
export function authorizeScrape(
  opts: Omit<MetricsEndpointOptions, "registry">,
  req: IncomingMessage,
  res: ServerResponse,
): boolean {
  if (req.method !== "GET" && req.method !== "HEAD") {
    answer(res, 405, "BAD_REQUEST", `${req.method ?? "?"} ${req.url ?? ""}: only GET is served`);
    return false;
  }
  if (opts.open === true) return true;
  const presented = bearerToken(req.headers.authorization);
  if (presented === undefined) {
    answer(res, 401, "UNAUTHORIZED", "this needs a bearer token (Authorization: Bearer <token>)", opts.realm);
    return false;
  }
  if (!acceptsToken(presented, opts.tokens)) {
    answer(res, 401, "UNAUTHORIZED", "the bearer token is not valid for the metrics", opts.realm);
    return false;
  }
  return true;
}

/**
 * `GET /metrics` in Prometheus' text exposition format, behind the same bearer token as the process's REST API
 * (or a scrape token that can read nothing else). A plain node:http handler, so the agent serves it without
 * loading express, and the driver mounts it on its express app.
 */
export function serveMetrics(opts: MetricsEndpointOptions, req: IncomingMessage, res: ServerResponse): void {
  if (!authorizeScrape(opts, req, res)) return;
  opts.registry.metrics().then(
    (text) => {
      res.writeHead(200, { "content-type": opts.registry.contentType, "cache-control": "no-store" });
      res.end(req.method === "HEAD" ? undefined : text);
    },
    (e: unknown) => answer(res, 500, "INTERNAL", `metrics could not be collected: ${errorMessage(e)}`),
  );
}

/** True for a request of the metrics path (with or without a query string). */
export function isMetricsRequest(url: string | undefined): boolean {
  return url === METRICS_PATH || (url?.startsWith(`${METRICS_PATH}?`) ?? false);
}
