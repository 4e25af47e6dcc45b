import type { z } from "zod";
import { parseWith } from "@openiotfog/shared";
import {
  errorMessageSchema,
  genericMessageSchema,
  healMessageSchema,
  instantiateMessageSchema,
  scalingMessageSchema,
  startStopMessageSchema,
  type Json,
} from "./messages";

/**
 * The NFVO → VNFM actions this manager serves (docs/openbaton-protocol.md §6), each with the schema its message is
 * validated with. Handlers are a table keyed by action (manager.ts): the compiler checks that every action has
 * one, and each receives its own message type.
 */
interface MessageSchemas {
  INSTANTIATE: typeof instantiateMessageSchema;
  MODIFY: typeof genericMessageSchema;
  START: typeof startStopMessageSchema;
  STOP: typeof startStopMessageSchema;
  RELEASE_RESOURCES: typeof genericMessageSchema;
  SCALE_OUT: typeof scalingMessageSchema;
  SCALE_IN: typeof scalingMessageSchema;
  HEAL: typeof healMessageSchema;
  ERROR: typeof errorMessageSchema;
  CONFIGURE: typeof genericMessageSchema;
  UPDATE: typeof genericMessageSchema;
  RESUME: typeof genericMessageSchema;
}

export const MESSAGE_SCHEMAS: MessageSchemas = {
  INSTANTIATE: instantiateMessageSchema,
  MODIFY: genericMessageSchema,
  START: startStopMessageSchema,
  STOP: startStopMessageSchema,
  RELEASE_RESOURCES: genericMessageSchema,
  SCALE_OUT: scalingMessageSchema,
  SCALE_IN: scalingMessageSchema,
  HEAL: healMessageSchema,
  ERROR: errorMessageSchema,
  CONFIGURE: genericMessageSchema,
  UPDATE: genericMessageSchema,
  RESUME: genericMessageSchema,
};

export type NfvoAction = keyof MessageSchemas;
export type MessageOf<A extends NfvoAction> = z.infer<MessageSchemas[A]>;

/** One NFVO message, validated: a union discriminated by `action`. */
export type NfvoMessage = { [A in NfvoAction]: { action: A; message: MessageOf<A> } }[NfvoAction];

/** What a handler answers: the reply body, or null where Open Baton's SDKs answer nothing (ERROR, SCALE_IN). */
export type Handler<A extends NfvoAction> = (message: MessageOf<A>) => Promise<Json | null>;

/** One handler per action; a missing action is a compile error where a table is declared `satisfies` this. */
export type HandlerTable = { [A in NfvoAction]: Handler<A> };

export function isNfvoAction(action: string): action is NfvoAction {
  return Object.prototype.hasOwnProperty.call(MESSAGE_SCHEMAS, action);
}

/** Validates a message of a known action with its schema; errors name the action and the field. */
export function parseNfvoMessage<A extends NfvoAction>(action: A, raw: Json): NfvoMessage {
  const schema: z.ZodTypeAny = MESSAGE_SCHEMAS[action];
  const message = parseWith(schema, raw, `${action} message`, "BAD_REQUEST") as MessageOf<A>;
  return { action, message } as NfvoMessage;
}

/** Runs the handler of a validated message (the one place the union is narrowed to its handler). */
export function runHandler(table: HandlerTable, m: NfvoMessage): Promise<Json | null> {
  const handler = table[m.action] as Handler<typeof m.action>;
  return (handler as (message: unknown) => Promise<Json | null>)(m.message);
}
