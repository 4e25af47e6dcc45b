import { existsSync, readFileSync } from "node:fs";
import { Agent, fetch as fetchWith } from "undici";
import { IotFogError, errorMessage, isErrorCode, readSecretFileSync } from "@openiotfog/shared";

export const DEFAULT_API_URL = "http://127.0.0.1:7080";
export const DEFAULT_TOKEN_FILE = ".iotfog/api-token";

export interface ApiOptions {
  apiUrl?: string;
  token?: string;
  tokenFile?: string;
  /** PEM file of the CA that signed an https:// API's certificate (the fleet CA). */
  ca?: string;
}

export interface ApiTarget {
  url: string;
  token: string | undefined;
  /** PEM certificate(s) trusted for an https:// API, instead of the system's CAs. */
  ca?: string;
}

/**
 * Where the fleet API is, which token to send and which CA to trust: flags, then IOTFOG_API_URL /
 * IOTFOG_API_TOKEN / IOTFOG_API_TOKEN_FILE / IOTFOG_API_CA, then the defaults (the token file `iotfog up` writes
 * in the working directory; the system's CAs).
 */
export function resolveTarget(opts: ApiOptions, env: NodeJS.ProcessEnv = process.env): ApiTarget {
  const url = (opts.apiUrl ?? env.IOTFOG_API_URL ?? DEFAULT_API_URL).replace(/\/+$/, "");
  try {
    new URL(url);
  } catch {
    throw new IotFogError("BAD_REQUEST", `--api-url: "${url}" is not a URL (e.g. ${DEFAULT_API_URL})`);
  }
  let token = opts.token ?? env.IOTFOG_API_TOKEN;
  if (token === undefined || token === "") {
    const file = opts.tokenFile ?? env.IOTFOG_API_TOKEN_FILE ?? DEFAULT_TOKEN_FILE;
    if (existsSync(file)) token = readSecretFileSync(file);
    else if (opts.tokenFile !== undefined || env.IOTFOG_API_TOKEN_FILE !== undefined) {
      throw new IotFogError("BAD_REQUEST", `token file not found: ${file}`);
    }
  }
  const caFile = opts.ca ?? env.IOTFOG_API_CA;
  const ca = caFile === undefined || caFile === "" ? undefined : readCaFile(caFile);
  return { url, token: token === "" ? undefined : token, ...(ca === undefined ? {} : { ca }) };
}

function readCaFile(file: string): string {
  let pem: string;
  try {
    pem = readFileSync(file, "utf8");
  } catch (e) {
    throw new IotFogError("BAD_REQUEST", `--ca: cannot read ${file}: ${errorMessage(e)}`);
  }
  if (!pem.includes("-----BEGIN CERTIFICATE-----")) {
    throw new IotFogError("BAD_REQUEST", `--ca: ${file} holds no PEM certificate`);
  }
  return pem;
}

/** The HTTP status an API error came with; 0 when the API was not reached. */
export class ApiError extends IotFogError {
  constructor(
    readonly status: number,
    code: ConstructorParameters<typeof IotFogError>[0],
    message: string,
    details?: Record<string, unknown>,
  ) {
    super(code, message, details);
  }
}

/** Turns an API error body into an ApiError; 4xx the caller can fix become usage errors (exit 2). */
export function toApiError(status: number, body: unknown): ApiError {
  const err = (body as { error?: { code?: string; message?: string; details?: Record<string, unknown> } })
    .error;
  const message = err?.message ?? `HTTP ${status}`;
  let code = err?.code !== undefined && isErrorCode(err.code) ? err.code : "INTERNAL";
  // Bad input and a missing or wrong token are the caller's to fix: the CLI exits 2 for them.
  if (status === 400 || status === 401) code = "BAD_REQUEST";
  const hint =
    status === 401 ? " (give the token with --token, IOTFOG_API_TOKEN or IOTFOG_API_TOKEN_FILE)" : "";
  return new ApiError(status, code, `${message}${hint}`, err?.details);
}

export interface SseMessage {
  id?: string;
  event?: string;
  data: string;
}

/** A small client of the fleet REST API (fetch), with NDJSON and Server-Sent-Events readers. */
export class ApiClient {
  /** Set when a CA is configured: the connections trust that CA only. */
  private readonly dispatcher: Agent | undefined;

  constructor(readonly target: ApiTarget) {
    this.dispatcher = target.ca === undefined ? undefined : new Agent({ connect: { ca: target.ca } });
  }

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return {
      ...(this.target.token === undefined ? {} : { authorization: `Bearer ${this.target.token}` }),
      ...extra,
    };
  }

  private async fetch(method: string, path: string, init: RequestInit = {}): Promise<Response> {
    const url = `${this.target.url}/api/v1${path}`;
    try {
      if (this.dispatcher === undefined) return await fetch(url, { method, ...init });
      // undici's own fetch with its Agent: the global fetch of Node 20 takes no CA option.
      const withCa = { method, ...init, dispatcher: this.dispatcher } as Parameters<typeof fetchWith>[1];
      return (await fetchWith(url, withCa)) as unknown as Response;
    } catch (e) {
      if ((e as Error).name === "AbortError") throw e;
      const cause = errorMessage((e as { cause?: unknown }).cause ?? e);
      const certificate = /certificate|self.signed|issuer/i.test(cause);
      throw new IotFogError(
        "UNAVAILABLE",
        `cannot reach the fleet API at ${this.target.url}: ${cause}; ` +
          (certificate
            ? "the API's certificate is not trusted: give the CA that signed it with --ca or IOTFOG_API_CA."
            : "is the driver running (`iotfog up` or `iotfog driver`)? Set --api-url or IOTFOG_API_URL."),
      );
    }
  }

  async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.fetch(method, path, {
      headers: this.headers(body === undefined ? {} : { "content-type": "application/json" }),
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text === "" ? undefined : JSON.parse(text);
    } catch {
      throw new ApiError(
        res.status,
        "PROTOCOL_ERROR",
        `the fleet API answered HTTP ${res.status} with non-JSON`,
      );
    }
    if (!res.ok) throw toApiError(res.status, parsed ?? {});
    return parsed as T;
  }

  /** POSTs and yields each line of an NDJSON answer. */
  async *ndjson(path: string, body: unknown): AsyncGenerator<Record<string, unknown>> {
    const res = await this.fetch("POST", path, {
      headers: this.headers({ "content-type": "application/json", accept: "application/x-ndjson" }),
      body: JSON.stringify(body),
    });
    if (!res.ok) throw toApiError(res.status, await res.json().catch(() => ({})));
    for await (const line of lines(res)) {
      if (line.trim() !== "") yield JSON.parse(line) as Record<string, unknown>;
    }
  }

  /** Yields the messages of an event stream until it ends or `signal` aborts. */
  async *sse(path: string, signal: AbortSignal): AsyncGenerator<SseMessage> {
    let res: Response;
    try {
      res = await this.fetch("GET", path, { headers: this.headers({ accept: "text/event-stream" }), signal });
    } catch (e) {
      if (signal.aborted) return;
      throw e;
    }
    if (!res.ok) throw toApiError(res.status, await res.json().catch(() => ({})));
    let message: SseMessage = { data: "" };
    let hasData = false;
    try {
      for await (const line of lines(res)) {
        if (line === "") {
          if (hasData) yield message;
          message = { data: "" };
          hasData = false;
          continue;
        }
        if (line.startsWith(":")) continue;
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (field === "data") {
          message.data = hasData ? `${message.data}\n${value}` : value;
          hasData = true;
        } else if (field === "id") message.id = value;
        else if (field === "event") message.event = value;
      }
    } catch (e) {
      if (signal.aborted) return;
      throw e;
    }
  }
}

async function* lines(res: Response): AsyncGenerator<string> {
  if (res.body === null) return;
  const decoder = new TextDecoder();
  let buf = "";
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buf += decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = buf.indexOf("\n")) >= 0) {
      yield buf.slice(0, nl).replace(/\r$/, "");
      buf = buf.slice(nl + 1);
    }
  }
  buf += decoder.decode();
  if (buf !== "") yield buf;
}

/** Resolves when the user presses Ctrl-C (or SIGTERM arrives); aborts the controller. */
export function abortOnSignal(controller: AbortController): () => void {
  const onSignal = (): void => controller.abort();
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  return () => {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  };
}
