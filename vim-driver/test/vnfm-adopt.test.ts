import { IotFogError, createLogger, nodeTopic } from "@openiotfog/shared";
import type { AgentPool } from "../src/fleet/agents";
import { LiveFleet } from "../src/openbaton/fleet/live-fleet";
import type { VimService } from "../src/openbaton/vim-service";
import { FleetFogPort } from "../src/vnfm/fog-port";
import type { FogFault } from "../src/vnfm/ports";
import { waitFor } from "../../test/helpers/services";
import { TOPIC_PREFIX, capabilitiesMessage, presenceMessage, testFleetView } from "./fleet/fixtures";

/**
 * The fault watch over VNFCs adopted from stored records after a restart: the fleet view is empty at first, so a
 * node counts as lost only when it is still not live after the grace; a node that shows up is confirmed with its
 * agent, and a VNFC its node no longer runs is dropped, not reported. Real FleetView fed with MQTT payloads; the
 * agent answers `inspect` from a table.
 */

const logger = createLogger({ component: "vnfm-adopt-test", level: "error", silent: true });

function setup(running: Record<string, boolean>): {
  fog: FleetFogPort;
  faults: FogFault[];
  online: (nodeId: string) => void;
  check: () => void;
} {
  const view = testFleetView();
  const agents = {
    client: () => ({
      call: async (_method: string, params: { deploymentId: string }) => {
        if (running[params.deploymentId] !== true) throw new IotFogError("NOT_FOUND", "no such deployment");
        return { devices: [] };
      },
    }),
  } as unknown as AgentPool;
  const fog = new FleetFogPort({} as VimService, new LiveFleet(view), agents, logger, 60_000);
  const faults: FogFault[] = [];
  fog.onFault((f) => faults.push(f));
  return {
    fog,
    faults,
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
});
