import { readFileSync } from "node:fs";
import { z } from "zod";
import { IotFogError, errorMessage } from "../errors";
import { isLoopbackHost } from "../http-tls";
import { redactText } from "../logging";
import { readSecretFileSync } from "../secrets";

/** Schemes MQTT.js speaks; the second group is encrypted (TLS). */
const PLAIN_SCHEMES = ["mqtt:", "tcp:", "ws:"];
const TLS_SCHEMES = ["mqtts:", "tls:", "ssl:", "wss:"];

/**
 * The broker connection fields of the agent's and the driver's `mqtt` section (docs/security.md, "MQTT"):
 * where, as whom, and which CA the broker's certificate is checked against. Spread into each section's object.
 */
export const mqttConnectionFields = {
  url: z
    .string()
    .url()
    .refine(
      (u) => [...PLAIN_SCHEMES, ...TLS_SCHEMES].includes(new URL(u).protocol),
      "must be an mqtt://, mqtts://, ws:// or wss:// URL",
    )
    .default("mqtt://127.0.0.1:1883"),
  username: z.string().min(1).optional(),
  password: z.string().optional(),
  /** The password in an owner-only file (mode 600), instead of `password`. */
  passwordFile: z.string().min(1).optional(),
  /** PEM CA the broker's certificate is checked against (an mqtts:// URL); default: the fleet CA from enrollment. */
  caFile: z.string().min(1).optional(),
};

export interface MqttConnectionSection {
  url: string;
  username?: string | undefined;
  password?: string | undefined;
  passwordFile?: string | undefined;
  caFile?: string | undefined;
}

/** Refinement of an `mqtt` section: a CA only with TLS (it would look encrypted and be none), one password. */
export function refineMqttConnection(m: MqttConnectionSection, ctx: z.RefinementCtx): void {
  if (m.caFile !== undefined && !isTlsMqttUrl(m.url))
    ctx.addIssue({
      code: z.ZodIssueCode.custom,
      path: ["url"],
      message: "must be an mqtts:// (or wss://) URL when caFile is set",
    });
  if (m.password !== undefined && m.passwordFile !== undefined)
    ctx.addIssue({
      code: z.ZodIssueCode.custom,
      path: ["passwordFile"],
      message: "give password or passwordFile, not both",
    });
  if ((m.password !== undefined || m.passwordFile !== undefined) && m.username === undefined)
    ctx.addIssue({ code: z.ZodIssueCode.custom, path: ["username"], message: "a password needs a username" });
}

/** Credentials and CA a node receives at enrollment (or the driver keeps in its fleet directory). */
export const mqttFleetCredentialsSchema = z
  .object({
    username: z.string().min(1).max(128),
    password: z.string().min(16).max(256),
    /** PEM of the fleet's MQTT CA. */
    caCert: z.string().min(1).max(20000).includes("-----BEGIN CERTIFICATE-----").optional(),
  })
  .strict();
export type MqttFleetCredentials = z.infer<typeof mqttFleetCredentialsSchema>;

export function isTlsMqttUrl(url: string): boolean {
  return TLS_SCHEMES.includes(new URL(url).protocol);
}

/** A broker only this machine reaches (127.0.0.0/8, ::1, localhost). */
export function isLoopbackMqttUrl(url: string): boolean {
  return isLoopbackHost(new URL(url).hostname);
}

/** What a client connects with, resolved from the config section and the fleet's credentials. */
export interface MqttConnection {
  url: string;
  username?: string;
  password?: string;
  /** PEM of the CA the broker's certificate must chain to (TLS only). */
  ca?: string;
  /** Where the credentials came from, for the start line. */
  auth: "config" | "fleet" | "anonymous";
}

/**
 * The connection a client uses. Configured credentials and CA win. Otherwise the fleet's (a node's from its
 * enrollment, the driver's from the fleet directory) are used over TLS and on loopback; they are never sent in
 * clear across the network: with a plain mqtt:// URL to another host the client connects anonymously and
 * `warning` says so.
 */
export function resolveMqttConnection(
  section: MqttConnectionSection,
  fleet: MqttFleetCredentials | undefined,
): { connection: MqttConnection; warning?: string } {
  const tls = isTlsMqttUrl(section.url);
  const connection: MqttConnection = { url: section.url, auth: "anonymous" };
  let warning: string | undefined;
  if (section.username !== undefined) {
    connection.username = section.username;
    const password =
      section.passwordFile !== undefined
        ? readConfigFile(section.passwordFile, "mqtt.passwordFile", readSecretFileSync)
        : section.password;
    if (password !== undefined) connection.password = password;
    connection.auth = "config";
  } else if (fleet !== undefined) {
    if (tls || isLoopbackMqttUrl(section.url)) {
      connection.username = fleet.username;
      connection.password = fleet.password;
      connection.auth = "fleet";
    } else {
      warning =
        `MQTT over plain ${new URL(section.url).protocol}// to another host: the fleet's MQTT credentials are ` +
        `not sent in clear, the client connects anonymously; use the broker's mqtts:// listener (docs/security.md, "MQTT")`;
    }
  }
  if (section.caFile !== undefined) {
    connection.ca = readConfigFile(section.caFile, "mqtt.caFile", (f) => readFileSync(f, "utf8"));
  } else if (tls && fleet?.caCert !== undefined) connection.ca = fleet.caCert;
  return { connection, ...(warning === undefined ? {} : { warning }) };
}

function readConfigFile(file: string, field: string, read: (file: string) => string): string {
  try {
    return read(file);
  } catch (e) {
    if (e instanceof IotFogError) throw new IotFogError(e.code, `${field}: ${e.message}`, e.details);
    throw new IotFogError("CONFIG_INVALID", `${field}: cannot read ${file}: ${errorMessage(e)}`);
  }
}

/**
 * The MQTT.js options of a connection: credentials, and with TLS the CA and a strict certificate check (the
 * broker's certificate must chain to the CA and name the URL's host).
 */
export function mqttClientAuthOptions(c: MqttConnection): {
  username?: string;
  password?: string;
  ca?: string;
  rejectUnauthorized?: boolean;
} {
  return {
    ...(c.username === undefined ? {} : { username: c.username }),
    ...(c.password === undefined ? {} : { password: c.password }),
    ...(isTlsMqttUrl(c.url) ? { rejectUnauthorized: true, ...(c.ca === undefined ? {} : { ca: c.ca }) } : {}),
  };
}

/** For log lines: the URL without credentials, TLS or not, and as whom (never the password). */
export function describeMqttConnection(c: MqttConnection): Record<string, unknown> {
  return {
    url: redactText(c.url),
    tls: isTlsMqttUrl(c.url),
    ...(c.ca === undefined ? {} : { ca: "configured" }),
    user: c.username ?? "(anonymous)",
    authBy: c.auth,
  };
}
