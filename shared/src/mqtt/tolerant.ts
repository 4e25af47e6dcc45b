import { z, type ZodTypeAny } from "zod";

/**
 * The reader's copy of a wire schema, for payloads a process of another version may have written (docs/agent.md,
 * "Schema evolution"): every object, at every depth, drops the keys it does not know (zod's `strip`) where the
 * writer's schema refuses them (`strict`). Known fields keep every check, so a malformed known field is still
 * refused and named. An object with a catchall keeps it (its extra keys are validated, not dropped).
 *
 * Writers keep the strict schema: an agent never publishes a field its own version does not define.
 */
export function tolerantReader<T extends ZodTypeAny>(schema: T): T {
  return tolerant(schema) as T;
}

/** For the `_def` fields zod types as `any`. */
const tolerantAny = (s: unknown): ZodTypeAny => tolerant(s as ZodTypeAny);

function tolerant(s: ZodTypeAny): ZodTypeAny {
  if (s instanceof z.ZodObject) {
    const shape = s.shape as Record<string, ZodTypeAny>;
    const relaxed: Record<string, ZodTypeAny> = {};
    for (const [key, field] of Object.entries(shape)) relaxed[key] = tolerant(field);
    const def = s._def as z.ZodObjectDef;
    return new z.ZodObject({
      ...def,
      shape: () => relaxed,
      unknownKeys: def.unknownKeys === "strict" ? "strip" : def.unknownKeys,
      catchall: tolerantAny(def.catchall),
    });
  }
  if (s instanceof z.ZodArray)
    return new z.ZodArray({ ...s._def, type: tolerant(s._def.type as ZodTypeAny) });
  if (s instanceof z.ZodOptional)
    return new z.ZodOptional({ ...s._def, innerType: tolerantAny(s._def.innerType) });
  if (s instanceof z.ZodNullable)
    return new z.ZodNullable({ ...s._def, innerType: tolerantAny(s._def.innerType) });
  if (s instanceof z.ZodDefault)
    return new z.ZodDefault({ ...s._def, innerType: tolerantAny(s._def.innerType) });
  if (s instanceof z.ZodCatch) return new z.ZodCatch({ ...s._def, innerType: tolerantAny(s._def.innerType) });
  if (s instanceof z.ZodReadonly)
    return new z.ZodReadonly({ ...s._def, innerType: tolerantAny(s._def.innerType) });
  if (s instanceof z.ZodEffects) return new z.ZodEffects({ ...s._def, schema: tolerantAny(s._def.schema) });
  if (s instanceof z.ZodBranded) return new z.ZodBranded({ ...s._def, type: tolerantAny(s._def.type) });
  if (s instanceof z.ZodRecord)
    return new z.ZodRecord({ ...s._def, valueType: tolerantAny(s._def.valueType) });
  if (s instanceof z.ZodTuple) {
    const items = (s._def.items as ZodTypeAny[]).map(tolerant);
    const rest = s._def.rest === null ? null : tolerant(s._def.rest as ZodTypeAny);
    return new z.ZodTuple({ ...s._def, items: items as [ZodTypeAny, ...ZodTypeAny[]], rest });
  }
  if (s instanceof z.ZodUnion) {
    const options = (s._def.options as ZodTypeAny[]).map(tolerant);
    return new z.ZodUnion({ ...s._def, options: options as [ZodTypeAny, ZodTypeAny, ...ZodTypeAny[]] });
  }
  if (s instanceof z.ZodDiscriminatedUnion) {
    const options = (s.options as z.ZodDiscriminatedUnionOption<string>[]).map(
      (o) => tolerant(o) as z.ZodDiscriminatedUnionOption<string>,
    );
    return z.discriminatedUnion(
      s.discriminator as string,
      options as [z.ZodDiscriminatedUnionOption<string>, ...z.ZodDiscriminatedUnionOption<string>[]],
    );
  }
  if (s instanceof z.ZodIntersection) {
    return new z.ZodIntersection({
      ...s._def,
      left: tolerantAny(s._def.left),
      right: tolerantAny(s._def.right),
    });
  }
  if (s instanceof z.ZodPipeline) {
    return new z.ZodPipeline({ ...s._def, in: tolerantAny(s._def.in), out: tolerantAny(s._def.out) });
  }
  if (s instanceof z.ZodLazy) {
    const getter = s._def.getter;
    return new z.ZodLazy({ ...s._def, getter: () => tolerantAny(getter()) });
  }
  // Leaves (string, number, literal, enum, unknown, never, ...) have no keys to drop.
  return s;
}
