import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createLogger } from "@openiotfog/shared";
import { parseFogSpec, type FogSpec } from "../src/openbaton/fog-spec";
import { VnfManager } from "../src/vnfm/manager";
import type { Json } from "../src/vnfm/messages";
import type { FogPort, NfvoPort, VnfcHandle, VnfcStatus } from "../src/vnfm/ports";
import { FileVnfmStateStore, type VnfmStateStore } from "../src/vnfm/store";
import { encodeUserdata } from "../src/vnfm/userdata";

/**
 * The VNFM state machine with its two ports in memory: an NFVO that answers GRANT_OPERATION, ALLOCATE_RESOURCES
 * and SCALING the way the NFVO's tasks do (ids, VNFC instances built from launched servers), and a fleet that
 * keeps containers with their environment. The AMQP transport and the real fleet are covered by
 * test/integration/vnfm*.test.ts.
 */

const logger = createLogger({ component: "vnfm-test", level: "error", silent: true });

interface Container {
  vcId: string;
  nodeId: string;
  hostname: string;
  env: Record<string, string>;
  running: boolean;
}

class MemoryFleet implements FogPort {
  readonly containers = new Map<string, Container>();
  readonly calls: string[] = [];
  private seq = 0;

  /** A container launched by the NFVO (from the userdata it got) or relaunched by the VNFM (from the spec). */
  launch(hostname: string, spec: FogSpec | undefined, nodeId = "node-a"): string {
    const vcId = `${nodeId}:ob.fog.c${++this.seq}`;
    this.containers.set(vcId, { vcId, nodeId, hostname, env: { ...(spec?.env ?? {}) }, running: true });
    return vcId;
  }

  private get(vcId: string): Container {
    const c = this.containers.get(vcId);
    if (c === undefined) throw new Error(`no container ${vcId}`);
    return c;
  }

  private report(c: Container): VnfcStatus {
    return { vcId: c.vcId, state: c.running ? "ACTIVE" : "INACTIVE", nodeId: c.nodeId };
  }

  async applyEnv(vnfc: VnfcHandle, env: Record<string, string>): Promise<VnfcStatus> {
    this.calls.push(`applyEnv ${vnfc.vcId}`);
    const old = this.get(vnfc.vcId);
    this.containers.delete(vnfc.vcId);
    const vcId = this.launch(vnfc.hostname, vnfc.spec, old.nodeId);
    Object.assign(this.get(vcId).env, env);
    return this.report(this.get(vcId));
  }

  async start(vcId: string): Promise<VnfcStatus> {
    this.calls.push(`start ${vcId}`);
    const c = this.get(vcId);
    c.running = true;
    return this.report(c);
  }

  async stop(vcId: string): Promise<VnfcStatus> {
    this.calls.push(`stop ${vcId}`);
    const c = this.get(vcId);
    c.running = false;
    return this.report(c);
  }

  async heal(vnfc: VnfcHandle): Promise<VnfcStatus> {
    this.calls.push(`heal ${vnfc.vcId}`);
    return this.start(vnfc.vcId);
  }

  async remove(vcId: string): Promise<void> {
    this.calls.push(`remove ${vcId}`);
    this.containers.delete(vcId);
  }

  async status(vcId: string): Promise<VnfcStatus> {
    return this.report(this.get(vcId));
  }
}

/** Answers the VNFM's RPCs as the NFVO's GrantoperationTask / AllocateresourcesTask / ScalingTask do. */
class MemoryNfvo implements NfvoPort {
  readonly sent: Json[] = [];
  readonly notified: Json[] = [];
  allocateError: string | undefined;
  private ids = 0;

  constructor(private readonly fleet: MemoryFleet) {}

  private id(prefix: string): string {
    return `${prefix}-${++this.ids}`;
  }

  async call(message: Json): Promise<Json> {
    this.sent.push(structuredClone(message));
    const vnfr = structuredClone(message.virtualNetworkFunctionRecord) as Json;
    const vdus = vnfr.vdu as Json[];
    switch (message.action) {
      case "GRANT_OPERATION": {
        vnfr.id = this.id("vnfr");
        const vduVim: Json = {};
        for (const vdu of vdus) {
          vdu.id = this.id("vdu");
          for (const c of vdu.vnfc as Json[]) c.id = this.id("vnfc");
          vduVim[vdu.id as string] = { name: "fog-vim", type: "docker.fog" };
        }
        return { action: "GRANT_OPERATION", grantAllowed: true, vduVim, virtualNetworkFunctionRecord: vnfr };
      }
      case "ALLOCATE_RESOURCES":
      case "SCALING": {
        if (this.allocateError !== undefined) return { action: "ERROR", vnfr, message: this.allocateError };
        const userdata = (message.userdata ?? message.userData) as string;
        for (const vdu of vdus) {
          const instances = vdu.vnfc_instance as Json[];
          for (const component of vdu.vnfc as Json[]) {
            if (instances.some((i) => (i.vnfComponent as Json).id === component.id)) continue;
            const hostname = `${String(vnfr.name)}-${this.ids + 1}`;
            instances.push({
              id: this.id("inst"),
              vc_id: this.fleet.launch(hostname, parseFogSpec(userdata)),
              hostname,
              state: "ACTIVE",
              vnfComponent: component,
              connection_point: component.connection_point,
            });
          }
        }
        return { action: message.action === "SCALING" ? "SCALED" : "ALLOCATE_RESOURCES", vnfr };
      }
      default:
        throw new Error(`unexpected RPC ${String(message.action)}`);
    }
  }

  async notify(message: Json): Promise<void> {
    this.notified.push(message);
  }
}

function instantiate(name: string, type: string, extra: Json = {}): string {
  return JSON.stringify({
    action: "INSTANTIATE",
    vnfd: {
      id: `vnfd-${name}`,
      name,
      type,
      endpoint: "fog",
      vdu: [
        {
          id: `vdu-${name}`,
          vm_image: [`${name.replace("-", "")}:latest`],
          vnfc: [{ id: `c-${name}`, connection_point: [{ virtual_link_reference: "new-network" }] }],
        },
      ],
      virtual_link: [{ name: "new-network" }],
      ...extra,
    },
    vnfdf: { flavour_key: "m1.small" },
    extension: { "nsr-id": "nsr-1" },
    vimInstances: { [`vdu-${name}`]: [{ name: "fog-vim", type: "docker.fog" }] },
    keys: [],
  });
}

function instancesOf(vnfr: Json): Json[] {
  return (vnfr.vdu as Json[]).flatMap((v) => v.vnfc_instance as Json[]);
}

function setup(store?: VnfmStateStore): { fleet: MemoryFleet; nfvo: MemoryNfvo; vnfm: VnfManager } {
  const fleet = new MemoryFleet();
  const nfvo = new MemoryNfvo(fleet);
  const vnfm = new VnfManager({ nfvo, fog: fleet, encodeUserdata, logger, ...(store ? { store } : {}) });
  return { fleet, nfvo, vnfm };
}

describe("VNF manager state machine", () => {
  it("runs the Docker tutorial: the client gets SERVER_HOSTNAME before START is answered; release removes all", async () => {
    const { fleet, nfvo, vnfm } = setup();
    const server = (await vnfm.handle(instantiate("iperf-server", "server"))) as Json;
    expect(server.action).toBe("INSTANTIATE");
    const client = (await vnfm.handle(
      instantiate("iperf-client", "client", {
        requires: { "iperf-server": { parameters: ["hostname"] } },
        configurations: { configurationParameters: [{ confKey: "TIME", value: "5" }] },
      }),
    )) as Json;
    expect(client.action).toBe("INSTANTIATE");

    // What the VNFM asked of the NFVO: GRANT then ALLOCATE with a string userdata and keyPairs present.
    const allocate = nfvo.sent.find(
      (m) =>
        m.action === "ALLOCATE_RESOURCES" && (m.virtualNetworkFunctionRecord as Json).name === "iperf-client",
    ) as Json;
    expect(typeof allocate.userdata).toBe("string");
    expect(allocate.keyPairs).toEqual([]);
    expect(Object.keys(allocate.vimInstances as Json)).toHaveLength(1);
    expect(parseFogSpec(allocate.userdata as string)?.env).toEqual({ TIME: "5" });

    const serverVnfr = server.virtualNetworkFunctionRecord as Json;
    const clientVnfr = client.virtualNetworkFunctionRecord as Json;
    const serverHost = instancesOf(serverVnfr)[0]?.hostname as string;
    const oldClientVc = instancesOf(clientVnfr)[0]?.vc_id as string;

    const modify = (await vnfm.handle(
      JSON.stringify({
        action: "MODIFY",
        vnfr: clientVnfr,
        vnfrd: {
          target: "iperf-client",
          parameters: { server: { parameters: {} } },
          vnfcParameters: {
            server: {
              parameters: {
                [instancesOf(serverVnfr)[0]?.id as string]: { parameters: { hostname: serverHost } },
              },
            },
          },
        },
      }),
    )) as Json;
    expect(modify.action).toBe("MODIFY");

    const startServer = (await vnfm.handle(
      JSON.stringify({ action: "START", virtualNetworkFunctionRecord: serverVnfr }),
    )) as Json;
    expect(startServer.action).toBe("START");
    const started = (await vnfm.handle(
      JSON.stringify({ action: "START", virtualNetworkFunctionRecord: clientVnfr }),
    )) as Json;
    expect(started.action).toBe("START");
    const clientInstance = instancesOf(started.virtualNetworkFunctionRecord as Json)[0] as Json;
    expect(clientInstance.state).toBe("ACTIVE");
    expect(clientInstance.vc_id).not.toBe(oldClientVc);
    const running = fleet.containers.get(clientInstance.vc_id as string);
    expect(running?.env).toEqual({ TIME: "5", SERVER_HOSTNAME: serverHost });
    expect(fleet.containers.has(oldClientVc)).toBe(false);

    // A second START (e.g. after STOP) does not re-create again.
    const callsBefore = fleet.calls.length;
    await vnfm.handle(
      JSON.stringify({ action: "START", virtualNetworkFunctionRecord: started.virtualNetworkFunctionRecord }),
    );
    expect(fleet.calls.slice(callsBefore)).toEqual([`start ${String(clientInstance.vc_id)}`]);

    for (const vnfr of [
      started.virtualNetworkFunctionRecord as Json,
      startServer.virtualNetworkFunctionRecord as Json,
    ]) {
      const released = (await vnfm.handle(JSON.stringify({ action: "RELEASE_RESOURCES", vnfr }))) as Json;
      expect(released.action).toBe("RELEASE_RESOURCES");
    }
    expect(fleet.containers.size).toBe(0);
  });

  it("keeps MODIFY's values across a restart (state file): the client started by a new manager gets them", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "iotfog-vnfm-state-"));
    try {
      const file = path.join(dir, "state", "vnfm.json");
      const { fleet, nfvo, vnfm } = setup(new FileVnfmStateStore(file, logger));
      const server = (await vnfm.handle(instantiate("iperf-server", "server"))) as Json;
      const client = (await vnfm.handle(
        instantiate("iperf-client", "client", { requires: { "iperf-server": { parameters: ["hostname"] } } }),
      )) as Json;
      const serverVnfr = server.virtualNetworkFunctionRecord as Json;
      const clientVnfr = client.virtualNetworkFunctionRecord as Json;
      const serverHost = instancesOf(serverVnfr)[0]?.hostname as string;
      await vnfm.handle(
        JSON.stringify({
          action: "MODIFY",
          vnfr: clientVnfr,
          vnfrd: {
            target: "iperf-client",
            parameters: { server: { parameters: { hostname: serverHost } } },
          },
        }),
      );
      expect(statSync(file).mode & 0o777).toBe(0o600);

      // The process restarts between MODIFY and START: a new manager over the same file and fleet.
      const restarted = (): VnfManager =>
        new VnfManager({
          nfvo,
          fog: fleet,
          encodeUserdata,
          logger,
          store: new FileVnfmStateStore(file, logger),
        });
      const again = restarted();
      expect(again.vnfcIds().sort()).toEqual(
        [instancesOf(serverVnfr)[0]?.vc_id as string, instancesOf(clientVnfr)[0]?.vc_id as string].sort(),
      );
      const started = (await again.handle(
        JSON.stringify({ action: "START", virtualNetworkFunctionRecord: clientVnfr }),
      )) as Json;
      expect(started.action).toBe("START");
      const vcId = instancesOf(started.virtualNetworkFunctionRecord as Json)[0]?.vc_id as string;
      expect(fleet.containers.get(vcId)?.env).toEqual({ SERVER_HOSTNAME: serverHost });

      // Released records leave the file; an unreadable file is moved aside and the manager starts empty.
      await again.handle(
        JSON.stringify({ action: "RELEASE_RESOURCES", vnfr: started.virtualNetworkFunctionRecord }),
      );
      expect(restarted().vnfcIds()).toEqual([instancesOf(serverVnfr)[0]?.vc_id as string]);
      writeFileSync(file, "{ not json");
      expect(restarted().vnfcIds()).toEqual([]);
      expect(readdirSync(path.dirname(file)).some((f) => f.startsWith("vnfm.json.unreadable-"))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("fails INSTANTIATE with an ERROR naming a bad key, before asking for anything", async () => {
    const { nfvo, vnfm } = setup();
    const reply = (await vnfm.handle(
      instantiate("sensor", "sensor", {
        configurations: { configurationParameters: [{ confKey: "fog.memroy", value: "1GB" }] },
      }),
    )) as Json;
    expect(reply.action).toBe("ERROR");
    expect((reply.exception as Json).detailMessage).toContain(
      'configuration key "fog.memroy": unknown fog key',
    );
    expect(reply.nsrId).toBe("nsr-1");
    expect(nfvo.sent).toHaveLength(0);
  });

  it("passes the NFVO's allocation failure (the driver's placement explanation) on as an ERROR", async () => {
    const { nfvo, vnfm } = setup();
    nfvo.allocateError =
      "org.openbaton.exceptions.VimDriverException: no node satisfies: device zigbee (n1: missing)";
    const reply = (await vnfm.handle(instantiate("sensor", "sensor"))) as Json;
    expect(reply.action).toBe("ERROR");
    expect((reply.exception as Json).detailMessage).toContain("ALLOCATE_RESOURCES for sensor failed");
    expect((reply.exception as Json).detailMessage).toContain("no node satisfies: device zigbee");
    expect((reply.virtualNetworkFunctionRecord as Json).id).toMatch(/^vnfr-/);
  });

  it("answers unreadable, unknown and malformed messages with an ERROR, and the NFVO's ERROR with null", async () => {
    const { vnfm } = setup();
    const notJson = (await vnfm.handle("not json")) as Json;
    expect((notJson.exception as Json).detailMessage).toMatch(/not JSON/);
    const unknown = (await vnfm.handle(JSON.stringify({ action: "TELEPORT", vnfr: {} }))) as Json;
    expect((unknown.exception as Json).detailMessage).toContain('unsupported action "TELEPORT"');
    const bad = (await vnfm.handle(JSON.stringify({ action: "START" }))) as Json;
    expect((bad.exception as Json).detailMessage).toContain('field "virtualNetworkFunctionRecord"');
    expect(
      await vnfm.handle(JSON.stringify({ action: "ERROR", vnfr: { name: "x" }, message: "boom" })),
    ).toBeNull();
  });

  it("scales out through SCALING with the known dependency values in the userdata", async () => {
    const { nfvo, vnfm, fleet } = setup();
    const inst = (await vnfm.handle(instantiate("iperf-client", "client"))) as Json;
    const vnfr = inst.virtualNetworkFunctionRecord as Json;
    await vnfm.handle(
      JSON.stringify({
        action: "MODIFY",
        vnfr,
        vnfrd: {
          vnfcParameters: { server: { parameters: { s1: { parameters: { hostname: "iperf-server-9" } } } } },
        },
      }),
    );
    const started = (await vnfm.handle(
      JSON.stringify({ action: "START", virtualNetworkFunctionRecord: vnfr }),
    )) as Json;
    const startedVnfr = started.virtualNetworkFunctionRecord as Json;
    // The NFVO adds the new VNFComponent to the record before it sends SCALE_OUT.
    const firstVdu = (startedVnfr.vdu as Json[])[0] as Json;
    (firstVdu.vnfc as Json[]).push({
      id: "c-new",
      connection_point: [{ virtual_link_reference: "new-network" }],
    });
    const scaled = (await vnfm.handle(
      JSON.stringify({
        action: "SCALE_OUT",
        virtualNetworkFunctionRecord: startedVnfr,
        component: { id: "c-new" },
      }),
    )) as Json;
    expect(scaled.action).toBe("SCALED");
    const scaling = nfvo.sent.find((m) => m.action === "SCALING") as Json;
    expect(parseFogSpec(scaling.userData as string)?.env).toEqual({ SERVER_HOSTNAME: "iperf-server-9" });
    const added = scaled.vnfcInstance as Json;
    expect(fleet.containers.get(added.vc_id as string)?.env).toEqual({ SERVER_HOSTNAME: "iperf-server-9" });
  });

  it("stops and heals VNFCs and reports fog faults to the NFVO as asynchronous ERRORs", async () => {
    const { nfvo, vnfm, fleet } = setup();
    const inst = (await vnfm.handle(instantiate("sensor", "sensor"))) as Json;
    const vnfr = inst.virtualNetworkFunctionRecord as Json;
    const started = (await vnfm.handle(
      JSON.stringify({ action: "START", virtualNetworkFunctionRecord: vnfr }),
    )) as Json;
    const vcId = instancesOf(started.virtualNetworkFunctionRecord as Json)[0]?.vc_id as string;
    const stopped = (await vnfm.handle(
      JSON.stringify({ action: "STOP", virtualNetworkFunctionRecord: started.virtualNetworkFunctionRecord }),
    )) as Json;
    expect(instancesOf(stopped.virtualNetworkFunctionRecord as Json)[0]?.state).toBe("INACTIVE");
    expect(fleet.containers.get(vcId)?.running).toBe(false);
    const instance = instancesOf(stopped.virtualNetworkFunctionRecord as Json)[0] as Json;
    const healed = (await vnfm.handle(
      JSON.stringify({
        action: "HEAL",
        virtualNetworkFunctionRecord: stopped.virtualNetworkFunctionRecord,
        vnfcInstance: instance,
        cause: "probe",
      }),
    )) as Json;
    expect(healed.action).toBe("HEAL");
    expect((healed.vnfcInstance as Json).state).toBe("ACTIVE");

    await vnfm.reportFault({
      kind: "device-removed",
      nodeId: "node-a",
      vcIds: [vcId],
      detail: "zigbee dongle /dev/ttyUSB0 detached",
    });
    expect(nfvo.notified).toHaveLength(1);
    const error = nfvo.notified[0] as Json;
    expect(error.action).toBe("ERROR");
    expect((error.exception as Json).detailMessage).toContain(
      "device detached under sensor: zigbee dongle /dev/ttyUSB0 detached",
    );
    expect(error.nsrId).toBe("nsr-1");
    await vnfm.reportFault({ kind: "node-lost", nodeId: "node-z", vcIds: ["other:thing"], detail: "x" });
    expect(nfvo.notified).toHaveLength(1);
  });
});
