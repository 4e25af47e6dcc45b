import { createLogger } from "@openiotfog/shared";
import { movedInstance, recordAfterMove, reportMove } from "@openiotfog/vim-driver/vnfm/auto-heal";
import { movedFrom, pendingVnfc, reconcilerNews } from "@openiotfog/vim-driver/vnfm/fleet-moves";
import type { VnfmContext } from "@openiotfog/vim-driver/vnfm/handlers/context";
import type { Json } from "@openiotfog/vim-driver/vnfm/messages";
import type { FogPort, VnfcMove } from "@openiotfog/vim-driver/vnfm/ports";
import { VnfManager } from "@openiotfog/vim-driver/vnfm/manager";
import { VnfrRepository } from "@openiotfog/vim-driver/vnfm/repository";
import type { StoredVnfr } from "@openiotfog/vim-driver/vnfm/store";
import { emptyFogSpec } from "@openiotfog/vim-driver/openbaton/fog-spec";
import { readUpdateVnfr, updateVnfr } from "../nfvo-emulator/vnfm/update-vnfr";

/**
 * `vnfm.autoHeal` without services: what the VNFM sends when the fleet moved a VNFC (auto-heal.ts), read and
 * merged the way the NFVO's UpdatevnfrTask does (the emulator's update-vnfr.ts), and how fleet events are read
 * (fleet-moves.ts). The real fleet, broker and agents: test/integration/vnfm-autoheal.test.ts.
 */

const logger = createLogger({ component: "vnfm-autoheal-test", level: "error", silent: true });

/** A VNFR as the NFVO stores it after START: ids everywhere, one VNFC instance on node-a. */
function storedRecord(): Json {
  const component = {
    id: "vnfc-1",
    hbVersion: 0,
    connection_point: [{ id: "cp-1", virtual_link_reference: "net" }],
  };
  return {
    id: "vnfr-1",
    hbVersion: 3,
    name: "server",
    type: "server",
    endpoint: "fog",
    parent_ns_id: "nsr-1",
    status: "ACTIVE",
    deployment_flavour_key: "m1.small",
    vnf_address: ["10.0.0.1"],
    configurations: { id: "c-1", name: "server", configurationParameters: [] },
    requires: { id: "r-1", name: "requires", configurationParameters: [] },
    provides: { id: "p-1", name: "provides", configurationParameters: [{ id: "pp-1", confKey: "hostname" }] },
    vdu: [
      {
        id: "vdu-1",
        hbVersion: 1,
        vm_image: ["img:latest"],
        vnfc: [component],
        vnfc_instance: [
          {
            id: "inst-1",
            hbVersion: 2,
            vim_id: "vim-1",
            vc_id: "node-a:ob-docker-fog-abc.server-1.0",
            hostname: "server-1",
            state: "ACTIVE",
            vnfComponent: component,
            connection_point: [{ id: "icp-1", virtual_link_reference: "net", floatingIp: "random" }],
            ips: [{ id: "ip-1", hbVersion: 0, netName: "net", ip: "10.0.0.1" }],
            floatingIps: [],
          },
        ],
      },
    ],
  };
}

const move: VnfcMove = {
  from: "node-a:ob-docker-fog-abc.server-1.0",
  to: {
    vcId: "node-b:ob-docker-fog-abc.server-1.0",
    nodeId: "node-b",
    hostname: "server-1",
    state: "ACTIVE",
    ips: { net: ["10.0.0.2"] },
    floatingIps: {},
    address: "10.0.0.2",
  },
};

function firstInstance(vnfr: Json): Json {
  return ((vnfr.vdu as Json[])[0]?.vnfc_instance as Json[])[0] as Json;
}

describe("the VNFM's UPDATEVNFR as the NFVO's UpdatevnfrTask reads it", () => {
  it("an instance sent with its old id keeps the NFVO's old IPs and state (why the moved VNFC goes as a new one)", () => {
    const stored = storedRecord();
    const sent = structuredClone(stored);
    Object.assign(firstInstance(sent), {
      vc_id: move.to.vcId,
      state: "INACTIVE",
      ips: [{ netName: "net", ip: "10.0.0.2" }],
    });
    const saved = updateVnfr(
      stored,
      readUpdateVnfr({ action: "UPDATEVNFR", virtualNetworkFunctionRecord: sent }) as Json,
    );
    expect(firstInstance(saved)).toMatchObject({
      id: "inst-1",
      vc_id: move.to.vcId,
      state: "ACTIVE",
      ips: [{ id: "ip-1", netName: "net", ip: "10.0.0.1" }],
    });
  });

  it("the moved VNFC replaces the old instance, whole: new id, vc_id, IPs, state; addresses and status follow", () => {
    const stored = storedRecord();
    const old = firstInstance(stored);
    const moved = movedInstance(old, move.to);
    expect(moved.id).toBeUndefined();
    expect((moved.connection_point as Json[])[0]).toEqual({
      virtual_link_reference: "net",
      floatingIp: "random",
    });
    const sent = recordAfterMove({ ...stored, status: "INACTIVE" }, old, moved, true);
    const saved = updateVnfr(
      stored,
      readUpdateVnfr({ action: "UPDATEVNFR", virtualNetworkFunctionRecord: sent }) as Json,
    );
    const inst = firstInstance(saved);
    expect((saved.vdu as Json[])[0]?.vnfc_instance).toHaveLength(1);
    expect(inst).toMatchObject({
      vc_id: move.to.vcId,
      hostname: "server-1",
      state: "ACTIVE",
      vim_id: "vim-1",
      ips: [{ netName: "net", ip: "10.0.0.2" }],
      floatingIps: [],
    });
    expect(inst.id).toEqual(expect.any(String));
    expect(inst.id).not.toBe("inst-1");
    expect((inst.vnfComponent as Json).id).toBe("vnfc-1");
    expect(saved.vnf_address).toEqual(["10.0.0.2"]);
    expect(saved.status).toBe("ACTIVE");
  });

  it("a record without its configurations fails in the NFVO as UpdatevnfrTask does", () => {
    const stored = storedRecord();
    const { provides: _p, ...sent } = stored;
    expect(() => updateVnfr(stored, sent)).toThrow("NullPointerException");
  });

  it("the VNFM sends UPDATEVNFR on the RPC queue and keeps the NFVO's saved record", async () => {
    let nfvoRecord = storedRecord();
    const sent: Json[] = [];
    const records = new VnfrRepository(undefined, logger);
    const state = records.stateFor(structuredClone(nfvoRecord) as Json & { id: string });
    state.started = true;
    state.applied.set(move.from, "[]");
    const ctx: VnfmContext = {
      nfvo: {
        call: async (message) => {
          sent.push(message);
          nfvoRecord = updateVnfr(nfvoRecord, readUpdateVnfr(message) as Json);
          return { action: "UPDATEVNFR", vnfr: nfvoRecord };
        },
        notify: async () => undefined,
      },
      fog: {} as FogPort,
      encodeUserdata: () => "",
      records,
      logger,
      autoHeal: true,
    };
    await reportMove(ctx, move);
    expect(sent.map((m) => m.action)).toEqual(["UPDATEVNFR"]);
    // The saved record, with the id the NFVO gave the new instance.
    expect(firstInstance(state.vnfr)).toMatchObject({
      id: firstInstance(nfvoRecord).id,
      vc_id: move.to.vcId,
      ips: [{ netName: "net", ip: "10.0.0.2" }],
    });
    expect(firstInstance(state.vnfr).id).not.toBe("inst-1");
    expect([...state.applied.keys()]).toEqual([move.to.vcId]);
    // A move of a VNFC no record has is nobody's: nothing is sent.
    await reportMove(ctx, { ...move, from: "node-z:other.x.0" });
    expect(sent).toHaveLength(1);
  });
});

describe("reading what the reconciler did to VNFCs from the fleet's events", () => {
  const base = { id: 1, time: "2026-01-01T00:00:00Z", message: "m" };
  const watched = ["node-a:ob-docker-fog-abc.server-1.0", "node-b:ob-docker-fog-def.client-2.0"];

  it("a replica started under the same agent deployment id on another node is a move", () => {
    const news = reconcilerNews({
      ...base,
      type: "deployment.progress",
      deploymentId: "ob-docker-fog-abc",
      nodeId: "node-b",
      data: { phase: "started", service: "server-1", replica: 0 },
    });
    expect(news).toEqual({
      kind: "started",
      agentDeploymentId: "ob-docker-fog-abc.server-1.0",
      nodeId: "node-b",
    });
    expect(movedFrom(watched, news as { agentDeploymentId: string; nodeId: string })).toBe(watched[0]);
    // Started where its vc_id already says (a launch, a restart in place): no move.
    expect(
      movedFrom(watched, { agentDeploymentId: "ob-docker-fog-abc.server-1.0", nodeId: "node-a" }),
    ).toBeUndefined();
  });

  it("a pending replica names its VNFC; other events are nothing", () => {
    const news = reconcilerNews({
      ...base,
      type: "replica.pending",
      deploymentId: "ob-docker-fog-def",
      nodeId: "node-b",
      message: "no node fits",
      data: { service: "client-2", replica: 0, reason: "x" },
    });
    expect(news).toEqual({
      kind: "pending",
      agentDeploymentId: "ob-docker-fog-def.client-2.0",
      message: "no node fits",
    });
    expect(pendingVnfc(watched, news as { agentDeploymentId: string })).toBe(watched[1]);
    expect(reconcilerNews({ ...base, type: "node.offline", nodeId: "node-a" })).toBeUndefined();
  });
});

describe("which fog faults the VNFM reports as ERROR", () => {
  /** A manager that knows one started record, launched with or without autoHeal; what it notifies. */
  function managerWith(onNodeLoss: "replace" | "keep"): { manager: VnfManager; notified: Json[] } {
    const record: StoredVnfr = {
      id: "vnfr-1",
      name: "server",
      nsrId: "nsr-1",
      env: {},
      applied: {},
      started: true,
      vnfr: storedRecord(),
      spec: { ...emptyFogSpec(), ...(onNodeLoss === "replace" ? { onNodeLoss } : {}) },
      vims: {},
    };
    const notified: Json[] = [];
    const manager = new VnfManager({
      nfvo: {
        call: async () => ({}),
        notify: async (m) => {
          notified.push(m);
        },
      },
      fog: {} as FogPort,
      encodeUserdata: () => "",
      logger,
      store: { load: () => [record], save: async () => undefined },
      autoHeal: onNodeLoss === "replace",
    });
    return { manager, notified };
  }
  const vcId = "node-a:ob-docker-fog-abc.server-1.0";
  const detail = (m: Json) => String((m.exception as Json).detailMessage);

  it("autoHeal: a lost node is no ERROR (the fleet places the VNFC again); one nothing can take is", async () => {
    const { manager, notified } = managerWith("replace");
    await manager.reportFault({ kind: "node-lost", nodeId: "node-a", vcIds: [vcId], detail: "offline" });
    expect(notified).toEqual([]);
    await manager.reportFault({
      kind: "not-replaced",
      nodeId: "node-a",
      vcIds: [vcId],
      detail: "no node fits",
    });
    expect(notified.map((m) => m.action)).toEqual(["ERROR"]);
    expect(detail(notified[0] as Json)).toContain(
      "fog node lost, not placed again under server: no node fits",
    );
  });

  it("without autoHeal a lost node is an ERROR as before, and `not-replaced` (never from the fleet then) is none", async () => {
    const { manager, notified } = managerWith("keep");
    await manager.reportFault({
      kind: "not-replaced",
      nodeId: "node-a",
      vcIds: [vcId],
      detail: "no node fits",
    });
    expect(notified).toEqual([]);
    await manager.reportFault({ kind: "node-lost", nodeId: "node-a", vcIds: [vcId], detail: "offline" });
    expect(notified.map((m) => m.action)).toEqual(["ERROR"]);
    expect(detail(notified[0] as Json)).toContain("fog node lost under server: offline");
  });
});
