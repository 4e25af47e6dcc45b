import { z } from "zod";

/**
 * Wire constants and message shapes of the Open Baton plugin protocol (NFVO 5.1–6.x), as specified in
 * docs/openbaton-protocol.md §1–§3.
 */
export const OPENBATON_EXCHANGE = "openbaton-exchange";
export const REGISTRATION_QUEUE = "nfvo.manager.handling";

/** Flags the NFVO's own SDKs use for the plugin queue; any other set fails with PRECONDITION_FAILED. */
export const PLUGIN_QUEUE_OPTIONS = { durable: true, exclusive: false, autoDelete: true } as const;

/** `vim-drivers.<type>.<name>`: the queue name, the RabbitMQ user name and the `type` sent at registration. */
export function pluginId(type: string, name: string): string {
  return `vim-drivers.${type}.${name}`;
}

/** The NFVO's answer to a registration (Gson of ManagerCredentials); only the two credentials matter. */
export const managerCredentialsSchema = z
  .object({
    rabbitUsername: z.string().min(1, "must not be empty"),
    rabbitPassword: z.string().min(1, "must not be empty"),
  })
  .passthrough();
export type ManagerCredentials = { rabbitUsername: string; rabbitPassword: string };

/** `PluginMessage` as Gson writes it: `interfaceClass` and `selector` are never set, so they never appear. */
export const pluginRequestSchema = z
  .object({
    methodName: z.string().min(1, "must not be empty"),
    parameters: z.array(z.unknown()),
  })
  .passthrough();
export type PluginRequest = { methodName: string; parameters: unknown[] };

/** What travels back in `exception`: Java's Throwable field name, plus the partly created server. */
export interface DriverExceptionBody {
  detailMessage: string;
  server?: unknown;
}

/** A reply body. Exactly one key, never a null value (the NFVO parser throws on `"exception": null`). */
export type PluginReply = { answer: unknown } | { exception: DriverExceptionBody };

export function answerReply(answer: unknown): PluginReply {
  if (answer === null || answer === undefined) {
    // A null answer makes the NFVO throw IllegalStateException; say what went wrong instead.
    return { exception: { detailMessage: "driver error: the method produced no answer" } };
  }
  return { answer };
}

export function exceptionReply(detailMessage: string, server?: unknown): PluginReply {
  const message = detailMessage.trim() === "" ? "driver error (no message)" : detailMessage;
  return server === undefined || server === null
    ? { exception: { detailMessage: message } }
    : { exception: { detailMessage: message, server } };
}

export function encodeReply(reply: PluginReply): Buffer {
  return Buffer.from(JSON.stringify(reply), "utf8");
}

/** Java `byte[]` parameters arrive as standard Base64 (commons-codec `encodeBase64String`). */
export function isStrictBase64(s: string): boolean {
  return s.length % 4 === 0 && /^[A-Za-z0-9+/]*={0,2}$/.test(s);
}

export function decodeBase64Param(value: unknown, what: string): Buffer {
  if (typeof value !== "string") throw new TypeError(`${what}: expected a Base64 string (Java byte[])`);
  if (!isStrictBase64(value)) throw new TypeError(`${what}: not valid Base64`);
  return Buffer.from(value, "base64");
}
