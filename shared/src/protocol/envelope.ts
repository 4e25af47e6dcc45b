import { z } from "zod";
import { ErrorCodes, IotFogError, errorMessage, type ErrorCode } from "../errors";
import { describeZodError } from "../validation";

/**
 * The agent command protocol (ZeroMQ): a DEALER client sends one multipart message per request, the agent's
 * ROUTER answers with one multipart message per reply.
 *
 *   request frames: [envelope JSON (UTF-8)] or [envelope JSON, attachment (binary)]
 *   reply frames:   [reply JSON (UTF-8)]    or [reply JSON, attachment (binary)]
 *
 * Attachments carry raw bytes (image chunks) so they never go through base64. Every frame is validated at the
 * boundary; anything malformed gets an error reply with code PROTOCOL_ERROR or BAD_REQUEST and the endpoint
 * keeps serving. Incompatible changes bump PROTOCOL_VERSION.
 */
export const PROTOCOL_VERSION = 1 as const;

/** Largest envelope (JSON frame) an agent accepts by default; bigger ones get a BAD_REQUEST reply. */
export const DEFAULT_MAX_ENVELOPE_BYTES = 1024 * 1024;
/** Largest attachment frame an agent accepts by default (one image chunk). */
export const DEFAULT_MAX_ATTACHMENT_BYTES = 8 * 1024 * 1024;
/** Chunk size clients use for image transfers unless the agent asks for less. */
export const DEFAULT_CHUNK_BYTES = 1024 * 1024;

/** Request ids double as idempotency keys: a retry reuses the id and gets the first reply. */
export const requestIdSchema = z
  .string()
  .min(1, "must not be empty")
  .max(128, "must be at most 128 characters")
  .regex(/^[A-Za-z0-9._:-]+$/, "must be letters, digits, '.', '_', ':' or '-'");

export const requestEnvelopeSchema = z
  .object({
    v: z.literal(PROTOCOL_VERSION, {
      errorMap: () => ({ message: `must be protocol version ${PROTOCOL_VERSION}` }),
    }),
    id: requestIdSchema,
    /** Epoch milliseconds after which the client no longer waits; the agent drops expired requests. */
    deadline: z.number().int("must be epoch milliseconds").positive("must be epoch milliseconds"),
    command: z.string().min(1, "must not be empty").max(64, "must be at most 64 characters"),
    params: z.record(z.unknown()).default({}),
  })
  .strict();
export type RequestEnvelope = z.output<typeof requestEnvelopeSchema>;

/**
 * An error on the wire. `code` is one of ErrorCodes (shared/src/errors.ts); clients accept unknown codes from a
 * newer agent and map them to INTERNAL. `retryable` tells a client that the same request may succeed later.
 */
export const wireErrorSchema = z
  .object({
    code: z.string().min(1),
    message: z.string(),
    retryable: z.boolean().optional(),
    details: z.record(z.unknown()).optional(),
  })
  .strict();
export type WireError = z.infer<typeof wireErrorSchema>;

export const replyOkSchema = z
  .object({ v: z.literal(PROTOCOL_VERSION), id: z.string(), ok: z.literal(true), result: z.unknown() })
  .strict();
export const replyErrorSchema = z
  .object({
    v: z.literal(PROTOCOL_VERSION),
    /** The request id, or "" when the request was too broken to read one. */
    id: z.string(),
    ok: z.literal(false),
    error: wireErrorSchema,
  })
  .strict();
export const replyEnvelopeSchema = z.discriminatedUnion("ok", [replyOkSchema, replyErrorSchema]);
export type ReplyEnvelope = z.infer<typeof replyEnvelopeSchema>;

export function isErrorCode(code: string): code is ErrorCode {
  return (ErrorCodes as readonly string[]).includes(code);
}

/** An IotFogError as it goes on the wire. */
export function toWireError(e: IotFogError): WireError {
  const out: WireError = { code: e.code, message: e.message };
  if (e.retryable) out.retryable = true;
  if (e.details !== undefined) out.details = e.details;
  return out;
}

/** A wire error back into an IotFogError; an unknown code from a newer agent becomes INTERNAL (kept in details). */
export function fromWireError(w: WireError): IotFogError {
  const options = { retryable: w.retryable === true };
  if (isErrorCode(w.code)) return new IotFogError(w.code, w.message, w.details, options);
  return new IotFogError("INTERNAL", w.message, { ...w.details, wireCode: w.code }, options);
}

export function encodeRequest(envelope: RequestEnvelope): Buffer {
  return Buffer.from(JSON.stringify(envelope), "utf8");
}

export function encodeReply(reply: ReplyEnvelope): Buffer {
  return Buffer.from(JSON.stringify(reply), "utf8");
}

export function okReply(id: string, result: unknown): ReplyEnvelope {
  return { v: PROTOCOL_VERSION, id, ok: true, result: result ?? {} };
}

export function errorReply(id: string, error: IotFogError): ReplyEnvelope {
  return { v: PROTOCOL_VERSION, id, ok: false, error: toWireError(error) };
}

function parseJsonFrame(frame: Buffer, what: string): unknown {
  try {
    return JSON.parse(frame.toString("utf8"));
  } catch (e) {
    throw new IotFogError("PROTOCOL_ERROR", `${what} is not valid JSON: ${errorMessage(e)}`);
  }
}

/**
 * The request id of a frame that failed validation, when one can still be read, so the error reply reaches the
 * waiting caller instead of making it time out.
 */
export function salvageRequestId(frame: Buffer): string {
  try {
    const raw: unknown = JSON.parse(frame.toString("utf8"));
    if (raw !== null && typeof raw === "object" && "id" in raw) {
      const id = requestIdSchema.safeParse((raw as { id: unknown }).id);
      if (id.success) return id.data;
    }
  } catch {
    // Not JSON at all: no id to salvage.
  }
  return "";
}

/** Validates a request frame. Throws IotFogError PROTOCOL_ERROR (not JSON, wrong version) or BAD_REQUEST. */
export function decodeRequest(frame: Buffer): RequestEnvelope {
  const raw = parseJsonFrame(frame, "request envelope");
  if (
    raw !== null &&
    typeof raw === "object" &&
    "v" in raw &&
    (raw as { v: unknown }).v !== PROTOCOL_VERSION
  ) {
    throw new IotFogError(
      "PROTOCOL_ERROR",
      `request envelope: protocol version ${JSON.stringify((raw as { v: unknown }).v)} is not supported (this agent speaks ${PROTOCOL_VERSION})`,
      { supported: [PROTOCOL_VERSION] },
    );
  }
  const parsed = requestEnvelopeSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = describeZodError(parsed.error);
    throw new IotFogError("BAD_REQUEST", `request envelope: ${problems.join("; ")}`, { problems });
  }
  return parsed.data;
}

/** Validates a reply frame (client side). Throws IotFogError PROTOCOL_ERROR. */
export function decodeReply(frame: Buffer): ReplyEnvelope {
  const raw = parseJsonFrame(frame, "reply envelope");
  const parsed = replyEnvelopeSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = describeZodError(parsed.error);
    throw new IotFogError("PROTOCOL_ERROR", `reply envelope: ${problems.join("; ")}`, { problems });
  }
  return parsed.data;
}
