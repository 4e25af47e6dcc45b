import winston from "winston";

export type Logger = winston.Logger;
export type LogLevel = "error" | "warn" | "info" | "debug";

/** Keys whose values never reach a log line, wherever they are nested. */
const SECRET_KEY = /pass(word)?|secret|token|authorization|credential|api[-_]?key/i;

export function redact(value: unknown, depth = 0): unknown {
  if (depth > 8 || value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  if (value instanceof Error) return { name: value.name, message: value.message };
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    out[k] = SECRET_KEY.test(k) ? "[redacted]" : redact(v, depth + 1);
  }
  return out;
}

const redactFormat = winston.format((info) => {
  for (const key of Object.keys(info)) {
    if (SECRET_KEY.test(key)) info[key] = "[redacted]";
    else if (key !== "level" && key !== "message") info[key] = redact(info[key]);
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
