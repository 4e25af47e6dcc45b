import { errorMessage, type Logger } from "@openiotfog/shared";
import { isNfvoAction, parseNfvoMessage, runHandler, type HandlerTable } from "./actions";
import { VnfmFailure, type VnfmContext } from "./handlers/context";
import { instantiate } from "./handlers/instantiate";
import { acknowledge, modify, release, start, stop } from "./handlers/lifecycle";
import { heal, nfvoError, scaleIn, scaleOut } from "./handlers/scale-heal";
import { reportMove } from "./auto-heal";
import { decodeNfvMessage, errorReply, type Json } from "./messages";
import type { FogFault, FogPort, NfvoPort, UserdataEncoder, VnfcMove } from "./ports";
import { instancesOf, recordIn, vcIdOf } from "./records";
import { VnfrRepository } from "./repository";
import type { VnfmStateStore } from "./store";

/**
 * The VNF manager (docs/openbaton-protocol.md §6): one handler per NFVO action in a table the compiler checks for
 * completeness (handlers/*.ts), each given its validated message (actions.ts) and returning the reply body the
 * NFVO waits for. It never throws: every failure, an unknown action and a body that is not JSON become an `ERROR`
 * reply that says what went wrong, because the NFVO waits for the reply without a timeout. The records live in a
 * repository (repository.ts) written after every message, before its answer goes out.
 */

export interface VnfManagerOptions {
  nfvo: NfvoPort;
  fog: FogPort;
  encodeUserdata: UserdataEncoder;
  logger: Logger;
  /** Where the per-record state survives a restart of the process; without one it lives in memory only. */
  store?: VnfmStateStore;
  /** `vnfm.autoHeal`: VNFCs are launched for the fleet to place again when their node is lost. */
  autoHeal?: boolean;
}

const FAULT_TEXT: Record<FogFault["kind"], string> = {
  "node-lost": "fog node lost",
  "device-removed": "device detached",
  "container-failed": "container failed",
  "not-replaced": "fog node lost, not placed again",
};

export class VnfManager {
  private readonly ctx: VnfmContext;
  private readonly handlers: HandlerTable;

  constructor(options: VnfManagerOptions) {
    this.ctx = {
      nfvo: options.nfvo,
      fog: options.fog,
      encodeUserdata: options.encodeUserdata,
      records: new VnfrRepository(options.store, options.logger),
      logger: options.logger,
      autoHeal: options.autoHeal ?? false,
    };
    const ctx = this.ctx;
    this.handlers = {
      INSTANTIATE: (m) => instantiate(ctx, m),
      MODIFY: (m) => modify(ctx, m),
      START: (m) => start(ctx, m),
      STOP: (m) => stop(ctx, m),
      RELEASE_RESOURCES: (m) => release(ctx, m),
      SCALE_OUT: (m) => scaleOut(ctx, m),
      SCALE_IN: (m) => scaleIn(ctx, m),
      HEAL: (m) => heal(ctx, m),
      ERROR: (m) => nfvoError(ctx, m),
      CONFIGURE: (m) => acknowledge("CONFIGURE", m),
      UPDATE: (m) => acknowledge("UPDATE", m),
      RESUME: (m) => acknowledge("RESUME", m),
    } satisfies HandlerTable;
  }

  /** The VNFCs (vc_ids) of every record this manager knows, e.g. to watch them again after a restart. */
  vnfcIds(): string[] {
    return this.ctx.records.vnfcIds();
  }

  /**
   * Handles one message body from the NFVO and returns the reply body (`null` where Open Baton's SDKs answer
   * nothing meaningful: ERROR and SCALE_IN).
   */
  async handle(body: Buffer | string): Promise<Json | null> {
    let action = "(unreadable)";
    let message: Json = {};
    try {
      ({ action, message } = decodeNfvMessage(body));
    } catch (e) {
      this.ctx.logger.warn("unreadable message from the NFVO", { error: errorMessage(e) });
      return errorReply(`OpenIoTFog VNFM: ${errorMessage(e)}`, undefined, undefined);
    }
    const started = Date.now();
    try {
      const reply = await this.dispatch(action, message).finally(() => this.ctx.records.persist());
      this.ctx.logger.info("NFVO action handled", {
        action,
        ms: Date.now() - started,
        reply: reply?.action ?? null,
      });
      return reply;
    } catch (e) {
      const vnfr = recordIn(message);
      const nsrId = typeof vnfr?.parent_ns_id === "string" ? vnfr.parent_ns_id : undefined;
      this.ctx.logger.warn("NFVO action failed", { action, error: errorMessage(e) });
      return errorReply(`${action} failed: ${errorMessage(e)}`, vnfr, nsrId);
    }
  }

  private async dispatch(action: string, message: Json): Promise<Json | null> {
    if (!isNfvoAction(action)) throw new VnfmFailure(`unsupported action "${action}"`);
    return runHandler(this.handlers, parseNfvoMessage(action, message));
  }

  /** The fleet placed a VNFC again by itself (`autoHeal`): the record follows and the NFVO gets UPDATEVNFR. */
  reportMove(move: VnfcMove): Promise<void> {
    return reportMove(this.ctx, move);
  }

  /**
   * A node running VNFCs was lost, or a device a VNFC needs was detached: tell the NFVO with an asynchronous
   * ERROR (the NFVO marks the VNF record and its NSR ERROR and records the message in the lifecycle history).
   */
  async reportFault(fault: FogFault): Promise<void> {
    for (const state of this.ctx.records.all()) {
      // The fleet places these again itself (autoHeal): UPDATEVNFR follows, or `not-replaced` if nothing fits.
      if (fault.kind === "node-lost" && state.spec?.onNodeLoss === "replace") continue;
      if (fault.kind === "not-replaced" && state.spec?.onNodeLoss !== "replace") continue;
      const hit = instancesOf(state.vnfr).filter((i) => {
        const vcId = vcIdOf(i);
        return vcId !== undefined && fault.vcIds.includes(vcId);
      });
      if (hit.length === 0) continue;
      for (const i of hit) i.state = "ERROR";
      const what = FAULT_TEXT[fault.kind];
      const text = `${what} under ${state.name}: ${fault.detail} (VNFCs ${hit.map((i) => String(i.hostname ?? i.vc_id)).join(", ")} on ${fault.nodeId})`;
      this.ctx.logger.warn("reporting a fog fault to the NFVO", {
        vnfr: state.name,
        kind: fault.kind,
        node: fault.nodeId,
      });
      try {
        await this.ctx.nfvo.notify(errorReply(text, state.vnfr, state.nsrId));
      } catch (e) {
        this.ctx.logger.error("could not report a fog fault to the NFVO", { error: errorMessage(e) });
      }
    }
    await this.ctx.records.persist();
  }
}
