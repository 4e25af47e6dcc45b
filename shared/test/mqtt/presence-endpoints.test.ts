import { encodeNodePayload, nodeTopic, parseNodeMessage } from "@openiotfog/shared";

const topic = nodeTopic("iotfog", "pi-7", "presence");
const presence = {
  v: 1,
  nodeId: "pi-7",
  ts: 1,
  sessionId: "s1",
  state: "online",
  reason: "startup",
  agentVersion: "0.1.0",
  endpoint: "tcp://10.0.0.7:5555",
  protocolVersion: 1,
  startedAt: 1,
  heartbeatIntervalMs: 2000,
  expiryMs: 6000,
};
const endpoints = {
  commands: "tcp://10.0.0.7:5555",
  hardwareEvents: "tcp://10.0.0.7:5556",
  events: "tcp://10.0.0.7:5557",
  rest: "http://10.0.0.7:8470",
};

describe("presence endpoints", () => {
  it("are optional: presence from agents without them stays valid", () => {
    const m = parseNodeMessage("iotfog", topic, JSON.stringify(presence));
    expect(m).toMatchObject({ kind: "presence", cleared: false });
    expect(m?.cleared === false && m.kind === "presence" && m.payload.endpoints).toBe(undefined);
  });

  it("carry the command, hardware events, events PUB and REST addresses, validated on receipt", () => {
    const m = parseNodeMessage("iotfog", topic, JSON.stringify({ ...presence, endpoints }));
    expect(m?.cleared === false && m.kind === "presence" && m.payload.endpoints).toEqual(endpoints);
    // Only the command endpoint is required: an agent whose auxiliary endpoints did not bind leaves them out.
    const minimal = encodeNodePayload("presence", {
      ...presence,
      endpoints: { commands: presence.endpoint },
    });
    expect(JSON.parse(minimal).endpoints).toEqual({ commands: "tcp://10.0.0.7:5555" });
  });

  it("accept endpoints a newer agent adds, so its presence is not rejected", () => {
    const newer = { ...endpoints, metrics: "http://10.0.0.7:9100/metrics" };
    const m = parseNodeMessage("iotfog", topic, JSON.stringify({ ...presence, endpoints: newer }));
    expect(m?.cleared === false && m.kind === "presence" && m.payload.endpoints).toEqual(newer);
  });

  it.each([
    [
      { ...endpoints, commands: "http://10.0.0.7:5555" },
      'field "endpoints.commands": must be a ZeroMQ address',
    ],
    [{ hardwareEvents: "tcp://10.0.0.7:5556" }, 'field "endpoints.commands": Required'],
    [{ ...endpoints, events: "10.0.0.7:5557" }, 'field "endpoints.events": must be a ZeroMQ address'],
    [{ ...endpoints, rest: "tcp://10.0.0.7:8470" }, 'field "endpoints.rest": must be an http(s) URL'],
    [{ ...endpoints, rest: "not a url" }, 'field "endpoints.rest": must be a URL'],
    [{ ...endpoints, metrics: 9100 }, 'field "endpoints.metrics": Expected string, received number'],
  ])("refuses %j naming the field", (bad, message) => {
    expect(() => parseNodeMessage("iotfog", topic, JSON.stringify({ ...presence, endpoints: bad }))).toThrow(
      message,
    );
  });
});
