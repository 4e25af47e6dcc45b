import type { PlacementDecision } from "@openiotfog/shared";
import { DriverMetrics, actionOf, placementFailureReason } from "../../src/metrics/driver-metrics";
import { prometheusTargets } from "../../src/metrics/targets";
import type { FleetNode } from "../../src/fleet/types";

const explanation = (nodes: Array<{ nodeId: string; filters: string[] }>, evaluated = nodes.length) => ({
  nodesEvaluated: evaluated,
  nodesFeasible: 0,
  rejectedBy: {},
  nodes: nodes.map((n) => ({
    nodeId: n.nodeId,
    hostname: n.nodeId,
    feasible: n.filters.length === 0,
    failures: n.filters.map((filter) => ({ filter, predicate: "p", seen: "s", reason: "mismatch" })),
  })),
});
const failed = (e: ReturnType<typeof explanation>): PlacementDecision => ({
  ok: false,
  message: "no node",
  explanation: e,
});

describe("placement failure reasons", () => {
  it("names the filter that rejected the most nodes, no_nodes for an empty fleet, taken when all passed", () => {
    expect(placementFailureReason(failed(explanation([], 0)))).toBe("no_nodes");
    expect(
      placementFailureReason(
        failed(
          explanation([
            { nodeId: "a", filters: ["devices", "resources"] },
            { nodeId: "b", filters: ["devices"] },
            { nodeId: "c", filters: ["resources", "resources"] },
          ]),
        ),
      ),
    ).toBe("devices");
    expect(placementFailureReason(failed(explanation([{ nodeId: "a", filters: [] }])))).toBe("taken");
  });
});

describe("Open Baton actions", () => {
  it("reads the action of a message body or object, (invalid) otherwise", () => {
    expect(actionOf(Buffer.from('{"action":"INSTANTIATE"}'))).toBe("INSTANTIATE");
    expect(actionOf({ action: "GRANT_OPERATION" })).toBe("GRANT_OPERATION");
    expect(actionOf(Buffer.from("not json"))).toBe("(invalid)");
    expect(actionOf({ action: "x\ny" })).toBe("(invalid)");
    expect(actionOf(null)).toBe("(invalid)");
  });
});

describe("the driver's metrics", () => {
  it("counts requests, VNFM messages, placements, reconnects, agent calls, image copies and the fleet", async () => {
    const nodes: FleetNode[] = [
      { nodeId: "a", online: true, lastSeen: 0, agentDeployments: { total: 3, running: 2 } },
      { nodeId: "b", online: false, lastSeen: 0, agentDeployments: { total: 5, running: 5 } },
    ];
    const m = new DriverMetrics({ nodes: () => nodes });
    m.openbatonRequest("launchInstanceAndWait", "ok", 0.3);
    m.openbatonRequest("listImages", "exception", 0.01);
    m.vnfmMessage("INSTANTIATE", "in");
    m.vnfmMessage("GRANT_OPERATION", "out");
    m.planned([
      { decision: failed(explanation([{ nodeId: "a", filters: ["devices"] }])) },
      { decision: { ok: true } as PlacementDecision },
    ]);
    m.amqpReconnect("vnfm");
    m.agentCalls.settled({ command: "images.import.chunk", outcome: "ok", seconds: 0.02, sentBytes: 1000 });
    m.agentCalls.settled({ command: "images.import.chunk", outcome: "ok", seconds: 0.02, sentBytes: 500 });
    m.agentCalls.settled({ command: "images.import.commit", outcome: "ok", seconds: 0.5, sentBytes: 0 });
    m.agentCalls.settled({ command: "deploy", outcome: "UNAVAILABLE", seconds: 15, sentBytes: 0 });
    m.agentCalls.retried("deploy");
    const text = await m.registry.metrics();
    expect(text).toContain('iotfog_openbaton_requests_total{method="launchInstanceAndWait",outcome="ok"} 1');
    expect(text).toContain('iotfog_openbaton_requests_total{method="listImages",outcome="exception"} 1');
    expect(text).toContain(
      'iotfog_openbaton_request_duration_seconds_bucket{le="0.5",method="launchInstanceAndWait",outcome="ok"} 1',
    );
    expect(text).toContain('iotfog_vnfm_messages_total{action="INSTANTIATE",direction="in"} 1');
    expect(text).toContain('iotfog_vnfm_messages_total{action="GRANT_OPERATION",direction="out"} 1');
    expect(text).toContain('iotfog_placement_decisions_total{outcome="failed"} 1');
    expect(text).toContain('iotfog_placement_decisions_total{outcome="placed"} 1');
    expect(text).toContain('iotfog_placement_failures_total{reason="devices"} 1');
    expect(text).toContain('iotfog_amqp_reconnects_total{client="vnfm"} 1');
    expect(text).toContain("iotfog_image_copies_total 1");
    expect(text).toContain("iotfog_image_copy_bytes_total 1500");
    expect(text).toContain(
      'iotfog_agent_rpc_duration_seconds_count{command="deploy",outcome="UNAVAILABLE"} 1',
    );
    expect(text).toContain('iotfog_agent_rpc_retries_total{command="deploy"} 1');
    expect(text).toContain('iotfog_fleet_nodes{state="online"} 1');
    expect(text).toContain('iotfog_fleet_nodes{state="offline"} 1');
    expect(text).toContain('iotfog_fleet_containers{state="running"} 2');
    expect(text).toContain('iotfog_fleet_containers{state="not_running"} 1');
  });
});

describe("Prometheus service discovery", () => {
  it("lists every online node that advertises its REST API, labelled with its node id", () => {
    const nodes: FleetNode[] = [
      {
        nodeId: "pi-07",
        online: true,
        lastSeen: 0,
        endpoints: { commands: "tcp://10.0.0.7:5555", rest: "http://10.0.0.7:8470" },
      },
      {
        nodeId: "pi-08",
        online: false,
        lastSeen: 0,
        endpoints: { commands: "tcp://10.0.0.8:5555", rest: "http://10.0.0.8:8470" },
      },
      { nodeId: "pi-09", online: true, lastSeen: 0, endpoints: { commands: "tcp://10.0.0.9:5555" } },
    ];
    expect(prometheusTargets(nodes)).toEqual([
      { targets: ["10.0.0.7:8470"], labels: { node: "pi-07", __scheme__: "http" } },
    ]);
  });
});
