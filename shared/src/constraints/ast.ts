import { z } from "zod";

/**
 * The parsed constraint language: a JSON-serialisable AST that travels inside a ServiceSpec from driver to
 * agent. Values stay as the operator wrote them (`"2GiB"`, `"1.2GHz"`, `">= 20.10"`) so explanations quote
 * them back; they are checked when parsed (parseConstraints) and again when compiled for placement.
 */

/** A constraint value as written: scalar, or a list for `in_range`, `valid_values` and the set operators. */
export const constraintScalarSchema = z.union([z.string(), z.number(), z.boolean()]);
export type ConstraintScalar = z.infer<typeof constraintScalarSchema>;
export const constraintValueSchema = z.union([constraintScalarSchema, z.array(constraintScalarSchema)]);
export type ConstraintValue = z.infer<typeof constraintValueSchema>;

/** One predicate on a node attribute: `node.labels.zone == line-1`, `node.resources.memory.free >= 2GiB`. */
export const constraintTermSchema = z
  .object({
    attribute: z.string().min(1, "must not be empty"),
    /** Canonical operator name (see constraints/operators); aliases such as `==` are resolved by the parser. */
    operator: z.string().min(1, "must not be empty"),
    value: constraintValueSchema.optional(),
  })
  .strict();
export type ConstraintTerm = z.infer<typeof constraintTermSchema>;

/** OR of AND-groups (Kubernetes node-affinity terms): holds when every term of at least one group holds. */
export const anyOfRequirementSchema = z
  .object({
    anyOf: z
      .array(z.array(constraintTermSchema).min(1, "a group needs at least one term"))
      .min(1, "needs at least one group"),
  })
  .strict();
export type AnyOfRequirement = z.infer<typeof anyOfRequirementSchema>;

export const requirementSchema = z.union([constraintTermSchema, anyOfRequirementSchema]);
export type Requirement = z.infer<typeof requirementSchema>;

/** Nomad `distinct_property`: at most `limit` replicas of the service per distinct value of `attribute`. */
export const distinctPropertySchema = z
  .object({
    attribute: z.string().min(1, "must not be empty"),
    limit: z.number().int().positive().default(1),
  })
  .strict();
export type DistinctProperty = z.infer<typeof distinctPropertySchema>;

/** Hard constraints: every requirement must hold on a node for it to be feasible. */
export const constraintSetSchema = z
  .object({
    requirements: z.array(requirementSchema).default([]),
    /** Nomad `distinct_hosts`: no two replicas of this service on one node. */
    distinctHosts: z.boolean().default(false),
    distinctProperties: z.array(distinctPropertySchema).default([]),
    /** Swarm `max_replicas` per node, when written in the constraint language. */
    maxPerNode: z.number().int().positive().optional(),
  })
  .strict();
export type ConstraintSet = z.infer<typeof constraintSetSchema>;
export type ConstraintSetInput = z.input<typeof constraintSetSchema>;

/** Soft preference (Nomad affinity): nodes where the term holds gain (or, negative weight, lose) score. */
export const preferenceSchema = z
  .object({
    term: constraintTermSchema,
    weight: z
      .number()
      .int()
      .min(-100, "must be >= -100")
      .max(100, "must be <= 100")
      .refine((w) => w !== 0, "must not be 0"),
  })
  .strict();
export type Preference = z.infer<typeof preferenceSchema>;

/** Spread replicas evenly over the values of an attribute (Swarm `spread`, Nomad `spread` with targets). */
export const spreadSchema = z
  .object({
    attribute: z.string().min(1, "must not be empty"),
    weight: z.number().int().min(1, "must be >= 1").max(100, "must be <= 100").default(50),
    /** Desired share per value; values not listed share what is left. Percentages must not exceed 100 in sum. */
    targets: z
      .array(z.object({ value: z.string(), percent: z.number().min(0).max(100) }).strict())
      .default([]),
  })
  .strict();
export type Spread = z.infer<typeof spreadSchema>;
