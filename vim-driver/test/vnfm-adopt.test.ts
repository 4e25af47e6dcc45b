import { IotFogError, createLogger, nodeTopic } from "@openiotfog/shared";
import type { AgentPool } from "../src/fleet/agents";
import { LiveFleet } from "../src/openbaton/fleet/live-fleet";
import type { VimService } from "../src/openbaton/vim-service";
import { FleetFogPort } from "../src/vnfm/fog-port";
import type { Server } from "../src/openbaton/catalogue";
import type { FogFault, VnfcMove } from "../src/vnfm/ports";
import { waitFor } from "../../test/helpers/services";
import { TOPIC_PREFIX, capabilitiesMessage, presenceMessage, testFleetView } from "./fleet/fixtures";

/**
 * The fault watch over VNFCs adopted from stored records after a restart: the fleet view is empty at first, so a
 * node counts as lost only when it is still not live after the grace; a node that shows up is confirmed with its
 * agent, and a VNFC its node no longer runs is dropped, not reported. Real FleetView fed with MQTT payloads; the
 * agent answers `inspect` from a table.
 */

const logger = createLogger({ component: "vnfm-adopt-test", level: "error", silent: true });

function setup(
  running: Record<string, boolean>,
  /** What the driver's listServer shows (the fleet may have placed a VNFC again meanwhile). */
  servers: Server[] = [],
): {
  fog: FleetFogPort;
  faults: FogFault[];
  moves: VnfcMove[];
  online: (nodeId: string) => void;
  check: () => void;
} {
  const view = testFleetView();
  const agents = {
    client: () => ({
      call: async (_method: string, params: { deploymentId: string }) => {
        if (running[params.deploymentId] !== true) throw new IotFogError("NOT_FOUND", "no such deployment");
        return { devices: [], state: "running" };
      },
    }),
  } as unknown as AgentPool;
  const vim = {
    listServer: async () => servers,
    server: async (extId: string) => servers.find((x) => x.extId === extId),
  } as unknown as VimService;
  const fog = new FleetFogPort(vim, new LiveFleet(view), agents, logger, 60_000);
  const faults: FogFault[] = [];
  fog.onFault((f) => faults.push(f));
  const moves: VnfcMove[] = [];
  fog.onMove((m) => moves.push(m));
  return {
    fog,
    faults,
    moves,
    online: (nodeId) => {
      view.onMessage(
        nodeTopic(TOPIC_PREFIX, nodeId, "presence"),
        presenceMessage(nodeId, "online", { endpoint: "tcp://127.0.0.1:1" }),
      );
      view.onMessage(nodeTopic(TOPIC_PREFIX, nodeId, "capabilities"), capabilitiesMessage(nodeId));
    },
    // The watch's timer and change listener both run this; tests call it directly.
    check: () => (fog as unknown as { watcher: { check(): void } }).watcher.check(),
  };
}

describe("fault watch over VNFCs adopted after a restart", () => {
  it("waits for the grace before reporting a node lost, confirms nodes that show up, drops VNFCs that are gone", async () => {
    const { fog, faults, online, check } = setup({ "d1.s.0": true });
    fog.adopt(["pi-1:d1.s.0", "pi-2:d2.s.0", "pi-3:d3.s.0", "not-an-ext-id"], 50);
    check();
    expect(faults).toEqual([]); // the fleet view is still empty: within the grace nothing is lost

    online("pi-1"); // runs d1
    online("pi-2"); // no longer runs d2
    check();
    const tracked = (fog as unknown as { watcher: { tracked: Map<string, unknown> } }).watcher.tracked;
    // pi-2's agent answered NOT_FOUND for d2: its VNFC is dropped.
    await waitFor(() => !tracked.has("pi-2:d2.s.0"), { what: "d2 dropped after pi-2's inspect answer" });
    // Past the grace pi-3 has still not shown up: the watch reports it.
    await waitFor(
      () => {
        check();
        return faults.length > 0;
      },
      { what: "pi-3 reported lost after the grace" },
    );
    expect(faults).toEqual([
      expect.objectContaining({ kind: "node-lost", nodeId: "pi-3", vcIds: ["pi-3:d3.s.0"] }),
    ]);
    // d2 was dropped (its node answered NOT_FOUND): losing pi-2 now reports nothing for it; d1 is watched.
    expect(tracked.has("pi-2:d2.s.0")).toBe(false);
    expect(tracked.has("pi-1:d1.s.0")).toBe(true);
  });

  it("a stored VNFC the fleet placed again elsewhere (autoHeal) is a move, not a lost node", async () => {
    const moved: Server = {
      name: "server-1",
      extId: "pi-9:d3.s.0",
      status: "ACTIVE",
      extendedStatus: "running",
      hostName: "server-1",
      instanceName: "server-1",
      hypervisorHostName: "pi-9",
      ips: { net: ["10.0.0.9"] },
      floatingIps: {},
    };
    const { fog, faults, moves, online, check } = setup({ "d3.s.0": true }, [moved]);
    fog.adopt(["pi-3:d3.s.0"], 50);
    online("pi-9");
    await waitFor(
      () => {
        check();
        return moves.length > 0;
      },
      { what: "the move of d3 to pi-9 after the grace" },
    );
    expect(moves).toEqual([
      {
        from: "pi-3:d3.s.0",
        to: expect.objectContaining({
          vcId: "pi-9:d3.s.0",
          nodeId: "pi-9",
          state: "ACTIVE",
          ips: { net: ["10.0.0.9"] },
        }),
      },
    ]);
    expect(faults).toEqual([]);
  });
});
