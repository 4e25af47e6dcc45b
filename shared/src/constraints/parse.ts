import { IotFogError } from "../errors";
import type { ConstraintSet } from "./ast";

/**
 * What a user may write for a constraint: a Swarm-style string (`node.labels.zone==line-1`), a full-form object
 * (`{attribute, operator, value}`), a TOSCA clause mapping (`{"node.resources.memory.free": {greater_or_equal: "2GiB"}}`)
 * or an OR block (`{any_of: [[...], [...]]}`).
 */
export type ConstraintInput = string | Record<string, unknown>;

/** Parses constraints in either syntax into the AST. Throws IotFogError VALIDATION_FAILED naming the entry. */
export function parseConstraints(input: readonly ConstraintInput[], source = "constraints"): ConstraintSet {
  throw new IotFogError(
    "UNSUPPORTED",
    `${source}: parseConstraints is not implemented yet (${input.length} entries)`,
  );
}
