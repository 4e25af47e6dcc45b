/**
 * Typed errors. Every error that crosses a boundary (ZeroMQ reply, AMQP exception, REST body, CLI exit)
 * carries a stable `code` so callers can branch on it without parsing messages.
 */
export const ErrorCodes = [
  "CONFIG_INVALID",
  "CONFIG_NOT_FOUND",
  "VALIDATION_FAILED",
  "BAD_REQUEST",
  "UNAUTHORIZED",
  "NOT_FOUND",
  "CONFLICT",
  "TIMEOUT",
  "UNAVAILABLE",
  "PLACEMENT_FAILED",
  "ADMISSION_REFUSED",
  /** The node's host-safety policy forbids what the request asks (docs/security.md). */
  "POLICY_REFUSED",
  "RUNTIME_ERROR",
  "IMAGE_NOT_FOUND",
  /** A copied image tarball is not the image the driver expects (docs/security.md, image integrity). */
  "IMAGE_REJECTED",
  "PROTOCOL_ERROR",
  "UNSUPPORTED",
  "INTERNAL",
] as const;
export type ErrorCode = (typeof ErrorCodes)[number];

/** Codes of failures that pass (a busy agent, a late reply): by default the same request may succeed later. */
export const RETRYABLE_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>(["TIMEOUT", "UNAVAILABLE"]);

export interface IotFogErrorOptions {
  cause?: unknown;
  /** May the same request succeed if sent again? Default: whether the code is in RETRYABLE_CODES. */
  retryable?: boolean;
}

export class IotFogError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;
  /**
   * Whether the same request may succeed if sent again. Endpoints, clients and retry loops decide on this
   * field (it travels on the ZeroMQ wire as `retryable`), never on a code list or a message of their own.
   */
  readonly retryable: boolean;

  constructor(
    code: ErrorCode,
    message: string,
    details?: Record<string, unknown>,
    options?: IotFogErrorOptions,
  ) {
    super(message, options !== undefined && "cause" in options ? { cause: options.cause } : undefined);
    this.name = "IotFogError";
    this.code = code;
    this.details = details;
    this.retryable = options?.retryable ?? RETRYABLE_CODES.has(code);
  }

  toJSON(): { code: ErrorCode; message: string; details?: Record<string, unknown> } {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }
}

export function isIotFogError(e: unknown): e is IotFogError {
  return e instanceof IotFogError;
}

/** The message of anything thrown, for logs and replies. */
export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message;
  if (typeof e === "string") return e;
  // An Error made in another realm (e.g. under a VM context, as Jest runs code) fails instanceof.
  if (typeof e === "object" && e !== null && typeof (e as { message?: unknown }).message === "string") {
    return (e as { message: string }).message;
  }
  try {
    return JSON.stringify(e);
  } catch {
    return String(e);
  }
}

/** Wraps anything thrown into an IotFogError, keeping an existing code. */
export function toIotFogError(e: unknown, fallback: ErrorCode = "INTERNAL"): IotFogError {
  if (e instanceof IotFogError) return e;
  return new IotFogError(fallback, errorMessage(e), undefined, { cause: e });
}
