import { z } from "zod";
import { labelsChangeSchema } from "@openiotfog/shared";
import { fleetEventTypes, type FleetEventType } from "../fleet/types";

/** Request bodies and query strings of the fleet API; every error names the field (see parseWith). */

const nonEmpty = z.string({ invalid_type_error: "must be a string" }).min(1, "must not be empty");
const NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

const workloadFields = {
  /** A blueprint as YAML text (what `iotfog deploy FILE` sends). */
  blueprint: z
    .string({ invalid_type_error: "must be a string (the blueprint's YAML text)" })
    .min(1, "must not be empty")
    .max(512 * 1024, "must be at most 512 KiB")
    .optional(),
  /** Or services in ServiceSpec form (validated by the service). */
  services: z.array(z.unknown(), { invalid_type_error: "must be a list of services" }).min(1).optional(),
  name: z
    .string({ invalid_type_error: "must be a string" })
    .regex(NAME, "must be lower-case letters, digits and '-', at most 63 characters")
    .optional(),
};

function oneWorkload<T extends { blueprint?: string | undefined; services?: unknown[] | undefined }>(
  v: T,
  ctx: z.RefinementCtx,
): void {
  if ((v.blueprint === undefined) === (v.services === undefined)) {
    ctx.addIssue({
      code: z.ZodIssueCode.custom,
      path: ["blueprint"],
      message: 'give exactly one of "blueprint" (YAML text) and "services"',
    });
  }
}

export const deployBodySchema = z.object(workloadFields).strict().superRefine(oneWorkload);
export type DeployBody = z.output<typeof deployBodySchema>;

export const whatIfSchema = z
  .object({
    lostNodes: z.array(nonEmpty, { invalid_type_error: "must be a list of node ids" }).default([]),
    lostDevices: z
      .array(z.object({ nodeId: nonEmpty, deviceId: nonEmpty }).strict(), {
        invalid_type_error: "must be a list of {nodeId, deviceId}",
      })
      .default([]),
  })
  .strict()
  .refine((w) => w.lostNodes.length + w.lostDevices.length > 0, {
    message: "name at least one node in lostNodes or one device in lostDevices",
    path: ["lostNodes"],
  });

export const explainBodySchema = z
  .object({
    ...workloadFields,
    whatIf: whatIfSchema.optional(),
    /** Also plan after losing each node and device the plan uses. */
    nMinusOne: z.boolean({ invalid_type_error: "must be true or false" }).optional(),
  })
  .strict()
  .superRefine(oneWorkload);
export type ExplainBody = z.output<typeof explainBodySchema>;

/** Label changes are checked by the agent's own rules (keys, values, limits), shared with the protocol. */
export const labelsBodySchema = labelsChangeSchema.refine(
  (b) => Object.keys(b.set).length + b.remove.length > 0,
  { message: 'give labels to "set" or keys to "remove"', path: ["set"] },
);

const intParam = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, "must be a whole number")
    .transform(Number)
    .pipe(z.number().int().min(min, `must be >= ${min}`).max(max, `must be <= ${max}`));

const boolParam = z.enum(["true", "false", "1", "0"]).transform((v) => v === "true" || v === "1");

export const eventsQuerySchema = z
  .object({
    since: intParam(0, Number.MAX_SAFE_INTEGER).optional(),
    limit: intParam(1, 1000).optional(),
    /** Comma-separated event types. */
    type: z
      .string()
      .transform((s) => s.split(",").filter((t) => t !== ""))
      .pipe(
        z.array(
          z.enum(fleetEventTypes, {
            errorMap: () => ({ message: `must be one of ${fleetEventTypes.join(", ")}` }),
          }),
        ),
      )
      .optional(),
    node: nonEmpty.optional(),
  })
  .strict();
export type EventsQuery = { since?: number; limit?: number; type?: FleetEventType[]; node?: string };

export const logsQuerySchema = z
  .object({
    service: nonEmpty.optional(),
    replica: intParam(0, 10000).optional(),
    tail: intParam(1, 10000).optional(),
    follow: boolParam.optional(),
    timestamps: boolParam.optional(),
  })
  .strict();

export const usageQuerySchema = z.object({ since: intParam(0, Number.MAX_SAFE_INTEGER).optional() }).strict();

export const streamQuerySchema = z
  .object({ since: intParam(0, Number.MAX_SAFE_INTEGER).optional() })
  .strict();
