import { IotFogError, isIotFogError, type ErrorCode } from "@openiotfog/shared";

/** HTTP status per error code: 4xx for what the caller can fix, 5xx for what the fleet could not do. */
const STATUS: Partial<Record<ErrorCode, number>> = {
  VALIDATION_FAILED: 400,
  BAD_REQUEST: 400,
  CONFIG_INVALID: 400,
  UNAUTHORIZED: 401,
  NOT_FOUND: 404,
  CONFLICT: 409,
  PLACEMENT_FAILED: 422,
  ADMISSION_REFUSED: 422,
  POLICY_REFUSED: 403,
  IMAGE_NOT_FOUND: 422,
  UNSUPPORTED: 501,
  UNAVAILABLE: 503,
  TIMEOUT: 504,
};

export function httpStatusOf(e: IotFogError): number {
  return STATUS[e.code] ?? 500;
}

export interface ErrorBody {
  error: { code: ErrorCode; message: string; details?: Record<string, unknown> };
}

export function errorBody(e: IotFogError): ErrorBody {
  return { error: e.toJSON() };
}

/** Errors thrown by express itself (bad JSON, body too large) carry a status; keep it and say what happened. */
export function fromHttpError(e: unknown): IotFogError | undefined {
  if (isIotFogError(e)) return e;
  if (typeof e !== "object" || e === null) return undefined;
  const { status, type, message } = e as { status?: unknown; type?: unknown; message?: unknown };
  if (typeof status !== "number" || status < 400 || status >= 500) return undefined;
  if (type === "entity.parse.failed") {
    return new IotFogError("BAD_REQUEST", `body: not valid JSON (${String(message)})`);
  }
  if (type === "entity.too.large") return new IotFogError("BAD_REQUEST", "body: larger than 1 MiB");
  if (type === "charset.unsupported" || type === "encoding.unsupported") {
    return new IotFogError("BAD_REQUEST", `body: ${String(message)}`);
  }
  return new IotFogError("BAD_REQUEST", String(message));
}
