import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import type http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import {
  IotFogError,
  apiUrlScheme,
  createApiHttpServer,
  errorMessage,
  readSecretFileSync,
  type HttpTlsConfig,
  type Component,
  type Logger,
} from "@openiotfog/shared";
import { createApiApp, type ApiAppOptions } from "./app";
import type { SecuritySurface } from "./security-routes";
import type { FleetService } from "./service";
import type { SseStream } from "./sse";

/** vim-driver/ (this file is vim-driver/src/api or vim-driver/dist/api). */
const PACKAGE_DIR = path.resolve(__dirname, "../..");
export const OPENAPI_FILE = path.join(PACKAGE_DIR, "openapi.yaml");
export const GUI_DIR = path.join(PACKAGE_DIR, "gui");

export interface ApiServerOptions {
  host: string;
  /** 0 picks a free port (tests). */
  port: number;
  /** HTTPS; without it a non-loopback host is refused unless insecurePlainHttp (see createApiHttpServer). */
  tls?: HttpTlsConfig | undefined;
  insecurePlainHttp?: boolean | undefined;
  token: string;
  service: FleetService;
  logger: Logger;
  gui?: boolean;
  logPollMs?: number;
  /** `GET /metrics` on the same listener. */
  metrics?: ApiAppOptions["metrics"];
  security?: SecuritySurface;
}

/** Serves the fleet API and the GUI; on stop ends open event streams so shutdown never hangs on them. */
export class ApiServer implements Component {
  readonly name = "fleet-api";
  private server: http.Server | undefined;
  private readonly streams = new Set<SseStream>();
  private boundPort = 0;

  constructor(private readonly opts: ApiServerOptions) {}

  async start(): Promise<void> {
    const app = createApiApp({
      service: this.opts.service,
      token: this.opts.token,
      logger: this.opts.logger,
      openapiFile: OPENAPI_FILE,
      ...(this.opts.gui === false ? {} : { guiDir: GUI_DIR }),
      streams: this.streams,
      ...(this.opts.logPollMs === undefined ? {} : { logPollMs: this.opts.logPollMs }),
      ...(this.opts.metrics === undefined ? {} : { metrics: this.opts.metrics }),
      ...(this.opts.security === undefined ? {} : { security: this.opts.security }),
    });
    const server = createApiHttpServer(
      app,
      {
        host: this.opts.host,
        tls: this.opts.tls,
        insecurePlainHttp: this.opts.insecurePlainHttp,
        field: "api",
        what: "fleet API",
      },
      this.opts.logger,
    );
    await new Promise<void>((resolve, reject) => {
      server.once("error", (e: NodeJS.ErrnoException) =>
        reject(
          new IotFogError(
            e.code === "EADDRINUSE" ? "CONFIG_INVALID" : "UNAVAILABLE",
            `fleet API cannot listen on ${this.opts.host}:${this.opts.port}: ${errorMessage(e)}`,
          ),
        ),
      );
      server.listen(this.opts.port, this.opts.host, () => resolve());
    });
    this.server = server;
    this.boundPort = (server.address() as AddressInfo).port;
    this.opts.logger.info("fleet API listening", { url: this.url });
  }

  get port(): number {
    return this.boundPort;
  }

  get url(): string {
    const host = this.opts.host === "0.0.0.0" || this.opts.host === "::" ? "127.0.0.1" : this.opts.host;
    return `${apiUrlScheme(this.opts.tls)}://${host.includes(":") ? `[${host}]` : host}:${this.boundPort}`;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    for (const s of [...this.streams]) s.close();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
      // Connections still busy after a moment are cut: a stuck client must not hold up the driver.
      setTimeout(() => server.closeAllConnections(), 1000).unref();
    });
  }
}

/**
 * The API token: the configured one, else the one in `tokenFile`, else a new random token written to
 * `tokenFile` (mode 0600) so `iotfog` commands on this machine find it. A token file that group or other users
 * may read is refused (the token would not be a secret).
 */
export function resolveApiToken(
  opts: { token?: string | undefined; tokenFile: string },
  logger: Logger,
): string {
  if (opts.token !== undefined && opts.token !== "") return opts.token;
  if (existsSync(opts.tokenFile)) {
    const t = readSecretFileSync(opts.tokenFile);
    if (t !== "") return t;
  }
  const token = randomBytes(24).toString("base64url");
  mkdirSync(path.dirname(opts.tokenFile), { recursive: true });
  writeFileSync(opts.tokenFile, `${token}\n`, { mode: 0o600 });
  chmodSync(opts.tokenFile, 0o600);
  logger.info("generated a fleet API token", { tokenFile: opts.tokenFile });
  return token;
}
