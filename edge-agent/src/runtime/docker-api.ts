import {
  IotFogError,
  errorMessage,
  deploymentStates,
  type DeploymentState,
  type ErrorCode,
} from "@openiotfog/shared";
import type { ContainerLogLine } from "./runtime";

/** What dockerode rejects with: the Engine API's HTTP status and message, or a socket error code. */
export interface DockerApiError {
  statusCode?: number;
  code?: string;
  json?: { message?: string };
  message?: string;
}

/** Maps a dockerode failure to a typed error: the Engine API's HTTP status says what went wrong. */
export function dockerError(e: unknown, what: string): IotFogError {
  if (e instanceof IotFogError) return e;
  const err = (e ?? {}) as DockerApiError;
  const detail = err.json?.message ?? errorMessage(e);
  let code: ErrorCode = "RUNTIME_ERROR";
  if (err.code === "ECONNREFUSED" || err.code === "ENOENT" || err.code === "EACCES") code = "UNAVAILABLE";
  else if (err.statusCode === 404)
    code = /no such image|pull access denied|manifest unknown/i.test(detail)
      ? "IMAGE_NOT_FOUND"
      : "NOT_FOUND";
  else if (err.statusCode === 409) code = "CONFLICT";
  else if (err.statusCode === 400) code = "BAD_REQUEST";
  return new IotFogError(
    code,
    `${what}: ${detail.trim()}`,
    { runtime: "docker", status: err.statusCode },
    { cause: e },
  );
}

/** Docker's container states are ours, except `missing`, which only the agent can say. */
const STATES: ReadonlySet<string> = new Set(deploymentStates.filter((s) => s !== "missing"));

export function toState(s: string | undefined): DeploymentState {
  return s !== undefined && STATES.has(s) ? (s as DeploymentState) : "dead";
}

/** Demultiplexes the Engine API's log stream (8-byte header per frame) for containers without a TTY. */
export function demuxLogs(buffer: Buffer): ContainerLogLine[] {
  const lines: ContainerLogLine[] = [];
  const push = (stream: ContainerLogLine["stream"], text: string): void => {
    for (const line of text.split("\n")) if (line !== "") lines.push({ stream, line });
  };
  let offset = 0;
  const framed = buffer.length >= 8 && (buffer[0] === 1 || buffer[0] === 2) && buffer[1] === 0;
  if (!framed) {
    push("stdout", buffer.toString("utf8"));
    return lines;
  }
  while (offset + 8 <= buffer.length) {
    const type = buffer[offset];
    const size = buffer.readUInt32BE(offset + 4);
    const body = buffer.subarray(offset + 8, offset + 8 + size).toString("utf8");
    push(type === 2 ? "stderr" : "stdout", body);
    offset += 8 + size;
  }
  return lines;
}
