/**
 * Bounds on the agent's tables that grow with what other machines send (docs/security.md, "Limits"): each one
 * refuses beyond its limit, counts the refusal, and keeps what it already has working.
 */
import { Dealer } from "zeromq";
import {
  PROTOCOL_VERSION,
  createLogger,
  decodeReply,
  encodeRequest,
  type NodeMessage,
} from "@openiotfog/shared";
import { CommandEndpoint, type CommandHandlers } from "../src/endpoint/server";
import { forwardingConfigSchema } from "../src/forwarding/config";
import { DeployForwarder } from "../src/forwarding/forwarder";
import { HardwareEventHandler } from "../src/hardware/handler";
import { EventBus } from "../src/monitoring/bus";
import { PeerTable } from "../src/presence/peers";

const logger = createLogger({ component: "test", silent: true });

const presence = (nodeId: string, state: "online" | "offline"): NodeMessage => ({
  kind: "presence",
  nodeId,
  cleared: false,
  payload: {
    v: 1,
    nodeId,
    ts: 0,
    sessionId: "s1",
    state,
    agentVersion: "0.1.0",
    protocolVersion: 1,
    startedAt: 0,
    heartbeatIntervalMs: 1000,
    expiryMs: 3000,
  },
});

describe("peer table bound", () => {
  it("a new peer beyond maxPeers takes the place of the longest-silent peer not online, else is refused", () => {
    const table = new PeerTable("self", 6000, { maxPeers: 3, logger });
    table.apply(presence("a", "online"), 0);
    table.apply(presence("b", "offline"), 1);
    table.apply(presence("c", "online"), 2);
    table.apply(presence("d", "online"), 3); // replaces b (not online)
    expect(
      table
        .list()
        .map((p) => p.nodeId)
        .sort(),
    ).toEqual(["a", "c", "d"]);
    table.apply(presence("e", "online"), 4); // every peer online: refused
    expect(
      table
        .list()
        .map((p) => p.nodeId)
        .sort(),
    ).toEqual(["a", "c", "d"]);
    expect(table.refusals.refused).toBe(1);
    // Known peers keep being updated at the bound.
    table.apply(presence("a", "offline"), 5);
    expect(table.get("a")?.state).toBe("offline");
    expect(table.refusals.refused).toBe(1);
  });
});

describe("hot-plug devices bound", () => {
  it("attach events for new devices beyond maxDevices are rejected (reason limit), known ones still apply", async () => {
    const bus = new EventBus({ nodeId: "n1", logger });
    const handler = new HardwareEventHandler({
      logger,
      bus,
      discovered: () => [],
      onChange: () => undefined,
      maxDevices: 2,
    });
    const attach = (i: number) =>
      handler.handleUnknown(
        {
          v: 1,
          type: "device.attached",
          device: { class: "serial", path: `/dev/ttyUSB${i}`, serial: `S${i}` },
        },
        "test",
      );
    await attach(0);
    await attach(1);
    await expect(attach(2)).resolves.toBeUndefined();
    expect(handler.currentDevices()).toHaveLength(2);
    expect(handler.getStats()).toMatchObject({ accepted: 2, rejected: 1, rejectedBy: { limit: 1 } });
    // A repeat of a known device and a detach still apply at the bound; after a detach there is room again.
    expect((await attach(1))?.refused).toBeUndefined();
    await handler.handleUnknown(
      { v: 1, type: "device.detached", device: { class: "serial", path: "/dev/ttyUSB0", serial: "S0" } },
      "test",
    );
    expect((await attach(2))?.changed).toBe(true);
    expect(handler.currentDevices().map((d) => d.path)).toEqual(["/dev/ttyUSB1", "/dev/ttyUSB2"]);
  });
});

describe("peer connections bound (forwarding)", () => {
  it("a connection to a new peer beyond maxClients closes the least recently used idle one", async () => {
    const forwarder = new DeployForwarder({
      selfNodeId: "n1",
      config: forwardingConfigSchema.parse({}),
      peers: () => [],
      bus: new EventBus({ nodeId: "n1", logger }),
      logger,
      maxClients: 2,
    });
    try {
      const a = forwarder.clients.get("tcp://127.0.0.1:1", "tcp://127.0.0.1:1");
      forwarder.clients.get("tcp://127.0.0.1:2", "tcp://127.0.0.1:2");
      expect(forwarder.clients.get("tcp://127.0.0.1:1", "tcp://127.0.0.1:1")).toBe(a);
      forwarder.clients.get("tcp://127.0.0.1:3", "tcp://127.0.0.1:3"); // closes :2, the least recently used
      expect(forwarder.clients.size).toBe(2);
      expect(forwarder.clients.get("tcp://127.0.0.1:1", "tcp://127.0.0.1:1")).toBe(a);
      expect(forwarder.clients.refusals.refused).toBe(0);
    } finally {
      await forwarder.stop();
    }
  });
});

describe("command endpoint: requests in flight", () => {
  it("beyond maxInFlight a request gets a retryable UNAVAILABLE reply at once; the others finish", async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const handlers = {
      ping: async () => {
        await gate;
        return { nodeId: "n1", agentVersion: "0", protocolVersion: 1, time: Date.now(), uptimeMs: 0 };
      },
    } as unknown as CommandHandlers;
    const endpoint = new CommandEndpoint(
      {
        bind: "tcp://127.0.0.1:0",
        maxEnvelopeBytes: 64 * 1024,
        maxAttachmentBytes: 64 * 1024,
        replyCacheMs: 1000,
        clockSkewToleranceMs: 1000,
        maxInFlight: 2,
      },
      handlers,
      logger,
    );
    await endpoint.start();
    const dealer = new Dealer({ linger: 0 });
    dealer.connect(endpoint.advertise);
    try {
      for (const id of ["r1", "r2", "r3"]) {
        const envelope = {
          v: PROTOCOL_VERSION,
          id,
          deadline: Date.now() + 10000,
          command: "ping",
          params: {},
        };
        await dealer.send([encodeRequest(envelope)]);
      }
      const [first] = await dealer.receive();
      const busy = decodeReply(first!);
      expect(busy).toMatchObject({ id: "r3", ok: false, error: { code: "UNAVAILABLE", retryable: true } });
      expect(endpoint.busyRefusals.refused).toBe(1);
      release();
      const ids: string[] = [];
      for (let i = 0; i < 2; i++) {
        const reply = decodeReply((await dealer.receive())[0]!);
        expect(reply.ok).toBe(true);
        ids.push(reply.id);
      }
      expect(ids.sort()).toEqual(["r1", "r2"]);
    } finally {
      dealer.close();
      await endpoint.stop();
    }
  });
});
