import type { ZodError, ZodIssue, ZodType, ZodTypeDef } from "zod";
import { IotFogError, type ErrorCode } from "./errors";
import { PRIVILEGE_FIELD_NAMES } from "./host-policy/schema";

/** `a.b[2].c` for a zod issue path. */
export function fieldPath(path: ReadonlyArray<string | number>): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else out += out === "" ? part : `.${part}`;
  }
  return out === "" ? "(root)" : out;
}

/** One line per problem, each naming the field: `field "mqtt.url": Invalid url`. */
export function describeZodError(error: ZodError): string[] {
  return error.issues.map((issue) => `field "${fieldPath(issue.path)}": ${issueMessage(issue)}`);
}

/** A zod issue's message; an unknown key that would grant privileges (`privileged`, `cap_add`) says why it is refused. */
export function issueMessage(issue: ZodIssue): string {
  const privileged =
    issue.code === "unrecognized_keys" && issue.keys.some((k) => PRIVILEGE_FIELD_NAMES.has(k.toLowerCase()));
  return privileged
    ? `${issue.message} (no field may grant a container host privileges: host-safety policy, docs/security.md)`
    : issue.message;
}

/**
 * Validates untrusted input at a boundary. On failure throws an IotFogError whose message names every
 * bad field, prefixed by where the input came from (a file, a ZeroMQ command, a REST body).
 */
export function parseWith<Output, Def extends ZodTypeDef, Input>(
  schema: ZodType<Output, Def, Input>,
  input: unknown,
  source: string,
  code: ErrorCode = "VALIDATION_FAILED",
): Output {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const problems = describeZodError(result.error);
  throw new IotFogError(code, `${source}: ${problems.join("; ")}`, { problems });
}
