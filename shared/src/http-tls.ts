import { readFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import net from "node:net";
import { z } from "zod";
import { IotFogError, errorMessage } from "./errors";
import type { Logger } from "./logging";
import { readSecretFileSync } from "./secrets";

/**
 * `tls:` of a REST API section (fleet API `api.tls`, agent `rest.tls`): PEM files. The key file must be
 * owner-only (mode 600), like an ssh key; the certificate file may hold the chain after the server certificate.
 */
export const httpTlsSchema = z
  .object({
    cert: z.string().min(1, "must be the path of a PEM certificate file"),
    key: z.string().min(1, "must be the path of a PEM private key file (mode 600)"),
  })
  .strict();
export type HttpTlsConfig = z.output<typeof httpTlsSchema>;

/** Whether a listen address only accepts connections from this machine (127.0.0.0/8, ::1, localhost). */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[(.*)\]$/, "$1").toLowerCase();
  if (h === "localhost" || h === "::1") return true;
  const v4 = h.startsWith("::ffff:") ? h.slice("::ffff:".length) : h;
  return net.isIPv4(v4) && v4.startsWith("127.");
}

export interface HttpServerSecurity {
  host: string;
  tls?: HttpTlsConfig | undefined;
  /** Plain HTTP on a non-loopback address: only when the operator says so, and loudly. */
  insecurePlainHttp?: boolean | undefined;
  /** The config section, named in errors and warnings: `api`, `rest`. */
  field: string;
  /** What is served, for messages: `fleet API`, `REST API`. */
  what: string;
}

/**
 * Why a REST API section may not serve as configured, or undefined: plain HTTP on a non-loopback address needs
 * the operator's explicit `insecurePlainHttp`. Checked when the configuration is parsed (the process refuses to
 * start) and again by createApiHttpServer.
 */
export function plainHttpBindProblem(sec: Omit<HttpServerSecurity, "field" | "what">): string | undefined {
  if (sec.tls !== undefined || isLoopbackHost(sec.host) || sec.insecurePlainHttp === true) return undefined;
  return (
    `bound to ${sec.host}, which is not loopback, so it must serve HTTPS: set tls.cert and tls.key ` +
    `(docs/security.md, "Transport security"), or bind to 127.0.0.1 (insecurePlainHttp: true serves plain ` +
    `HTTP anyway)`
  );
}

/**
 * The zod refinement of a REST API config section (`enabled`, `host`, `tls`, `insecurePlainHttp`): the
 * problem of plainHttpBindProblem, reported on the section's `tls` field (a disabled API binds nothing).
 */
export function refinePlainHttpBind(
  sec: Omit<HttpServerSecurity, "field" | "what"> & { enabled: boolean },
  ctx: z.RefinementCtx,
): void {
  const problem = sec.enabled ? plainHttpBindProblem(sec) : undefined;
  if (problem !== undefined) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ["tls"], message: problem });
}

/**
 * The server of a REST API: HTTPS with the configured certificate and key; plain HTTP on loopback only, unless
 * the operator set `<field>.insecurePlainHttp`, which is logged as a warning at every start. Throws
 * CONFIG_INVALID naming the field when a non-loopback bind has neither, or when a TLS file cannot be used.
 */
export function createApiHttpServer(
  handler: http.RequestListener,
  sec: HttpServerSecurity,
  logger: Logger,
): http.Server {
  if (sec.tls !== undefined) return httpsServer(handler, sec.tls, sec.field);
  const problem = plainHttpBindProblem(sec);
  if (problem !== undefined) {
    throw new IotFogError("CONFIG_INVALID", `${sec.field}.tls: the ${sec.what} is ${problem}`, {
      field: `${sec.field}.tls`,
      host: sec.host,
    });
  }
  if (!isLoopbackHost(sec.host)) {
    logger.warn(
      `INSECURE: the ${sec.what} serves plain HTTP on ${sec.host} (${sec.field}.insecurePlainHttp: true): ` +
        `its token and every request cross the network unencrypted; configure ${sec.field}.tls`,
      { field: `${sec.field}.insecurePlainHttp`, host: sec.host },
    );
  }
  return http.createServer(handler);
}

function httpsServer(handler: http.RequestListener, tls: HttpTlsConfig, field: string): https.Server {
  const read = (name: "cert" | "key", load: (file: string) => string): string => {
    try {
      return load(tls[name]);
    } catch (e) {
      if (e instanceof IotFogError) {
        throw new IotFogError(e.code, `${field}.tls.${name}: ${e.message}`, e.details);
      }
      throw new IotFogError(
        "CONFIG_INVALID",
        `${field}.tls.${name}: cannot read ${tls[name]}: ${errorMessage(e)}`,
      );
    }
  };
  const options = {
    key: read("key", readSecretFileSync),
    cert: read("cert", (file) => readFileSync(file, "utf8")),
  };
  try {
    // Fails here, at start (bad PEM, a key that does not match the certificate), not on the first client.
    return https.createServer(options, handler);
  } catch (e) {
    throw new IotFogError(
      "CONFIG_INVALID",
      `${field}.tls: ${tls.cert} and ${tls.key} are not a usable PEM certificate and key: ${errorMessage(e)}`,
    );
  }
}

/** The URL scheme a server created by createApiHttpServer speaks. */
export function apiUrlScheme(tls: HttpTlsConfig | undefined): "http" | "https" {
  return tls === undefined ? "http" : "https";
}
