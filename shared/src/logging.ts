import winston from "winston";

export type Logger = winston.Logger;
export type LogLevel = "error" | "warn" | "info" | "debug";

/** Keys whose values never reach a log line, wherever they are nested. */
const SECRET_KEY = /pass(word)?|secret|token|authorization|credential|api[-_]?key/i;

/**
 * The user-info part of a URL (`amqp://user:pass@host`): everything between `scheme://` and the last `@`
 * before the path, so a password with an unencoded `@` is covered too. Lengths are bounded so that a long line
 * of remote input costs linear time.
 */
const URL_USERINFO = /\b([a-z][a-z0-9+.-]{0,31}:\/\/)([^\s/?#]{0,512})@/gi;
/** A query parameter (`?access_token=...`, `&password=...`); its name decides whether the value is hidden. */
const QUERY_PARAM = /([?&;])([\w.-]{1,64})=([^\s&#;"']*)/g;

/** Removes credentials from URLs inside a text: `amqp://user:***@host`, `https://***@host`, `?token=***`. */
export function redactText(text: string): string {
  if (!text.includes("://") && !text.includes("=")) return text;
  return text
    .replace(URL_USERINFO, (_m, scheme: string, userinfo: string) => {
      const colon = userinfo.indexOf(":");
      return colon < 0 ? `${scheme}***@` : `${scheme}${userinfo.slice(0, colon)}:***@`;
    })
    .replace(QUERY_PARAM, (m, sep: string, name: string) =>
      SECRET_KEY.test(name) ? `${sep}${name}=***` : m,
    );
}

/**
 * A copy of a log field with secrets removed, wherever they are: values under secret-named keys, credentials
 * in URLs inside any string (nested objects, arrays, error messages).
 */
export function redact(value: unknown, depth = 0): unknown {
  if (typeof value === "string") return redactText(value);
  if (depth > 8 || value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  if (value instanceof Error) return { name: value.name, message: redactText(value.message) };
  if (value instanceof URL) return redactText(value.href);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    out[k] = SECRET_KEY.test(k) ? "[redacted]" : redact(v, depth + 1);
  }
  return out;
}

/** Applied to every line: each field of the winston info object, the message included, goes through redact. */
export const redactFormat = winston.format((info) => {
  for (const key of Object.keys(info)) {
    if (key === "level") continue;
    info[key] = SECRET_KEY.test(key) ? "[redacted]" : redact(info[key]);
  }
  return info;
});

export interface LoggerOptions {
  level?: LogLevel;
  /** `json` for machines (the default under systemd or CI), `pretty` for a terminal. */
  format?: "json" | "pretty";
  component: string;
  /** Extra fields on every line, e.g. the node id. */
  defaultMeta?: Record<string, unknown>;
  silent?: boolean;
}

export function createLogger(opts: LoggerOptions): Logger {
  const envLevel = process.env.IOTFOG_LOG_LEVEL as LogLevel | undefined;
  const format = opts.format ?? (process.env.IOTFOG_LOG_FORMAT === "pretty" ? "pretty" : "json");
  const formats =
    format === "pretty"
      ? winston.format.combine(
          redactFormat(),
          winston.format.timestamp(),
          winston.format.printf((info) => {
            const { level, message, timestamp, component, ...rest } = info;
            const extra = Object.keys(rest).length > 0 ? ` ${JSON.stringify(rest)}` : "";
            return `${String(timestamp)} ${level} [${String(component)}] ${String(message)}${extra}`;
          }),
        )
      : winston.format.combine(redactFormat(), winston.format.timestamp(), winston.format.json());
  return winston.createLogger({
    level: envLevel ?? opts.level ?? "info",
    format: formats,
    defaultMeta: { component: opts.component, ...opts.defaultMeta },
    // Logs go to stderr so that stdout stays clean for CLI output that machines parse.
    transports: [
      new winston.transports.Console({
        stderrLevels: ["error", "warn", "info", "debug", "verbose", "silly"],
      }),
    ],
    silent: opts.silent ?? process.env.IOTFOG_LOG_SILENT === "1",
  });
}
