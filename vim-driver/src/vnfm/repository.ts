import { errorMessage, type Logger } from "@openiotfog/shared";
import type { FogSpec } from "../openbaton/fog-spec";
import type { Json, Vnfr } from "./messages";
import { instancesOf, vcIdOf } from "./records";
import type { StoredVnfr, VnfmStateStore } from "./store";

/** What the manager remembers per VNF record between messages (the NFVO sends the full record each time). */
export interface VnfrState {
  name: string;
  nsrId: string | undefined;
  /** Dependency env from MODIFY / START / SCALE_OUT, by source; applied to every VNFC of the record. */
  env: Record<string, string>;
  /** Env each VNFC's container runs with now (by vc_id). */
  applied: Map<string, string>;
  started: boolean;
  /** The last record we answered with, for asynchronous ERRORs (fog faults). */
  vnfr: Json;
  /** The fog spec the VNFCs were launched with (one per record: ALLOCATE_RESOURCES carries one userdata). */
  spec: FogSpec | undefined;
  /** VIM instance per VNFR VDU id (the grant's `vduVim`). */
  vims: Record<string, Json>;
}

function toStored(id: string, s: VnfrState): StoredVnfr {
  return {
    id,
    name: s.name,
    ...(s.nsrId === undefined ? {} : { nsrId: s.nsrId }),
    env: s.env,
    applied: Object.fromEntries(s.applied),
    started: s.started,
    vnfr: s.vnfr,
    ...(s.spec === undefined ? {} : { spec: s.spec }),
    vims: s.vims,
  };
}

function fromStored(r: StoredVnfr): VnfrState {
  return {
    name: r.name,
    nsrId: r.nsrId,
    env: r.env,
    applied: new Map(Object.entries(r.applied)),
    started: r.started,
    vnfr: r.vnfr,
    spec: r.spec,
    vims: r.vims as Record<string, Json>,
  };
}

/**
 * The VNF records the manager knows, by VNFR id, and their persistence: loaded from the store at start, written
 * back as whole snapshots one after the other. The handlers read and change records through it; it knows
 * nothing of NFVO actions.
 */
export class VnfrRepository {
  private readonly records = new Map<string, VnfrState>();
  /** The state writes, one after the other (each a snapshot at the time it was asked for). */
  private saving: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: VnfmStateStore | undefined,
    private readonly logger: Logger,
  ) {
    for (const r of store?.load() ?? []) this.records.set(r.id, fromStored(r));
  }

  get(id: string): VnfrState | undefined {
    return this.records.get(id);
  }

  set(id: string, state: VnfrState): void {
    this.records.set(id, state);
  }

  delete(id: string): void {
    this.records.delete(id);
  }

  all(): VnfrState[] {
    return [...this.records.values()];
  }

  /**
   * The state of the record a message carries, now holding that record. A record from before a restart of this
   * process that the store did not keep starts from what the NFVO tells us.
   */
  stateFor(vnfr: Vnfr & Json): VnfrState {
    const id = typeof vnfr.id === "string" ? vnfr.id : "";
    let state = this.records.get(id);
    if (state === undefined) {
      state = {
        name: vnfr.name ?? id,
        nsrId: vnfr.parent_ns_id ?? undefined,
        env: {},
        applied: new Map(),
        started: false,
        vnfr,
        spec: undefined,
        vims: {},
      };
      if (id !== "") this.records.set(id, state);
    }
    state.vnfr = vnfr;
    return state;
  }

  /** The VNFCs (vc_ids) of every record, e.g. to watch them again after a restart. */
  vnfcIds(): string[] {
    return this.all().flatMap((s) => instancesOf(s.vnfr).flatMap((i) => vcIdOf(i) ?? []));
  }

  /**
   * Writes a snapshot of the records through the store, after the writes before it; resolves once written. A
   * failed write is logged, the answer to the NFVO still goes out.
   */
  persist(): Promise<void> {
    const store = this.store;
    if (store === undefined) return Promise.resolve();
    const snapshot = [...this.records].map(([id, s]) => toStored(id, s));
    this.saving = this.saving
      .then(() => store.save(snapshot))
      .catch((e: unknown) => {
        this.logger.error("could not save the VNFM state", { error: errorMessage(e) });
      });
    return this.saving;
  }
}
