import { IotFogError, createLogger, type DeployParams, type DeployResult } from "@openiotfog/shared";
import { node, spec, zigbeeDongle } from "../../shared/test/fixtures";
import { chooseForwardTarget, forwardingSchema, type ForwardCandidate } from "../src/forwarding/decide";
import { DeployForwarder } from "../src/forwarding/forwarder";
import { EventBus } from "../src/monitoring/bus";

const logger = createLogger({ component: "test", silent: true });
const zigbeeService = spec({ name: "zigbee2mqtt", devices: [{ class: "zigbee" }] });

/** `endpoint: null` is a peer whose presence advertised no command endpoint. */
function peer(id: string, withStick: boolean, endpoint: string | null = `tcp://${id}`) {
  const c: ForwardCandidate = {
    nodeId: id,
    endpoint: endpoint ?? undefined,
    state: node(id, withStick ? { devices: [zigbeeDongle(`zb-${id}`)] } : {}),
  };
  return c;
}

describe("chooseForwardTarget", () => {
  const base = { selfNodeId: "a", spec: zigbeeService, deploymentId: "dep-1", replica: 0 };

  it("chooses the peer that can run it and records this node as visited", () => {
    const d = chooseForwardTarget({
      ...base,
      forwarding: forwardingSchema.parse({ allowed: true }),
      peers: [peer("b", false), peer("c", true)],
    });
    expect(d).toMatchObject({ ok: true, nodeId: "c", next: { allowed: true, visited: ["a"] } });
    if (d.ok) expect(d.devices[0]?.device.id).toBe("zb-c");
  });

  it("never goes back to a visited node, stops at the hop limit, and needs permission", () => {
    const peers = [peer("b", true), peer("c", true, null)];
    expect(
      chooseForwardTarget({
        ...base,
        forwarding: forwardingSchema.parse({ allowed: true, visited: ["b"] }),
        peers,
      }),
    ).toMatchObject({ ok: false, reason: "no_peers" });
    expect(
      chooseForwardTarget({
        ...base,
        selfNodeId: "c",
        forwarding: forwardingSchema.parse({ allowed: true, hopLimit: 2, visited: ["a", "b"] }),
        peers,
      }),
    ).toMatchObject({ ok: false, reason: "hop_limit" });
    expect(chooseForwardTarget({ ...base, forwarding: forwardingSchema.parse({}), peers })).toMatchObject({
      ok: false,
      reason: "not_allowed",
    });
    const none = chooseForwardTarget({
      ...base,
      forwarding: forwardingSchema.parse({ allowed: true }),
      peers: [peer("b", false)],
    });
    expect(none).toMatchObject({ ok: false, reason: "no_feasible_peer" });
    if (!none.ok) expect(none.message).toContain("device zigbee");
  });
});

describe("DeployForwarder", () => {
  const refusal = new IotFogError("ADMISSION_REFUSED", "a cannot run zigbee2mqtt: device zigbee (none)");
  const params = (forward: unknown): DeployParams =>
    ({
      deploymentId: "dep-1",
      spec: zigbeeService,
      replica: 0,
      devices: [],
      start: true,
      forward,
    }) as DeployParams;
  const result = (nodeId: string): DeployResult => ({
    created: true,
    deployment: {
      deploymentId: "dep-1",
      nodeId,
      service: "zigbee2mqtt",
      replica: 0,
      image: "openiotfog/testbox:latest",
      desired: "running",
      state: "running",
      containerName: "x",
      devices: [],
      createdAt: 1,
    },
  });

  it("skips a peer that does not answer, lands on the next, and remembers where it went", async () => {
    const sent: string[] = [];
    const bus = new EventBus({ nodeId: "a", logger });
    const forwarder = new DeployForwarder({
      selfNodeId: "a",
      config: { enabled: true, hopLimit: 3, timeoutMs: 1000 },
      peers: () => [peer("b", true, "tcp://b"), peer("c", true, "tcp://c")],
      bus,
      logger,
      send: async (endpoint, p) => {
        sent.push(`${endpoint} ${JSON.stringify((p as { forward?: unknown }).forward)}`);
        if (endpoint === sent[0]?.split(" ")[0] && sent.length === 1) {
          throw new IotFogError("UNAVAILABLE", "no reply");
        }
        return result(endpoint.slice(6));
      },
    });
    const first = await forwarder.forward(params({ allowed: true, hopLimit: 3, visited: [] }), refusal);
    expect(sent).toHaveLength(2);
    expect(sent[1]).toContain('"visited":["a"]');
    const landed = first.deployment.nodeId;
    expect((first as { route?: string[] }).route).toEqual(["a", landed]);
    expect(bus.history({ types: ["deploy.forwarded"] })[0]?.peerId).toBe(landed);
    const again = await forwarder.forward(params({ allowed: true, hopLimit: 3, visited: [] }), refusal);
    expect(again.deployment.nodeId).toBe(landed);
    await expect(forwarder.forward(params(undefined), refusal)).rejects.toBe(refusal);
    await forwarder.stop();
  });

  it("says why this node and forwarding both failed", async () => {
    const forwarder = new DeployForwarder({
      selfNodeId: "a",
      config: { enabled: true, hopLimit: 3, timeoutMs: 1000 },
      peers: () => [peer("b", false)],
      bus: new EventBus({ nodeId: "a", logger }),
      logger,
      send: () => Promise.reject(new Error("must not be called")),
    });
    const err = await forwarder
      .forward(params({ allowed: true, hopLimit: 3, visited: [] }), refusal)
      .catch((e) => e);
    expect(err).toBeInstanceOf(IotFogError);
    expect(err.code).toBe("ADMISSION_REFUSED");
    expect(err.message).toMatch(/a cannot run zigbee2mqtt.*forwarding: no peer can run it either/);
    expect(err.details.forwarding.reason).toBe("no_feasible_peer");
  });
});
