import {
  PROTOCOL_VERSION,
  decodeRequest,
  decodeReply,
  encodeNodePayload,
  fromWireError,
  nodeTopic,
  nodeTopicFilter,
  parseNodeMessage,
  parseNodeTopic,
  salvageRequestId,
} from "@openiotfog/shared";

const frame = (v: unknown): Buffer => Buffer.from(JSON.stringify(v));

describe("agent request/reply envelope", () => {
  const ok = { v: PROTOCOL_VERSION, id: "req-1", deadline: Date.now() + 1000, command: "ping", params: {} };

  it("accepts a valid request and defaults params", () => {
    const { params: _p, ...noParams } = ok;
    expect(decodeRequest(frame(noParams))).toEqual({ ...ok, params: {} });
  });

  it("names the problem: not JSON, wrong version, bad field", () => {
    expect(() => decodeRequest(Buffer.from("{nope"))).toThrow(
      expect.objectContaining({ code: "PROTOCOL_ERROR" }),
    );
    expect(() => decodeRequest(frame({ ...ok, v: 2 }))).toThrow(/protocol version 2 is not supported/);
    expect(() => decodeRequest(frame({ ...ok, deadline: "soon" }))).toThrow(
      expect.objectContaining({ code: "BAD_REQUEST", message: expect.stringContaining('field "deadline"') }),
    );
    expect(() => decodeRequest(frame({ ...ok, extra: 1 }))).toThrow(/extra/);
  });

  it("salvages the id of a broken request so the error reaches its caller", () => {
    expect(salvageRequestId(frame({ ...ok, deadline: "soon" }))).toBe("req-1");
    expect(salvageRequestId(Buffer.from("garbage"))).toBe("");
  });

  it("decodes replies and maps wire errors back to typed errors", () => {
    expect(decodeReply(frame({ v: 1, id: "a", ok: true, result: { x: 1 } }))).toMatchObject({ ok: true });
    const reply = decodeReply(
      frame({ v: 1, id: "a", ok: false, error: { code: "ADMISSION_REFUSED", message: "no" } }),
    );
    expect(reply.ok).toBe(false);
    if (!reply.ok) expect(fromWireError(reply.error).code).toBe("ADMISSION_REFUSED");
    expect(fromWireError({ code: "FROM_THE_FUTURE", message: "?" })).toMatchObject({
      code: "INTERNAL",
      details: { wireCode: "FROM_THE_FUTURE" },
    });
    expect(() => decodeReply(frame({ v: 1, id: "a", ok: "yes" }))).toThrow(
      expect.objectContaining({ code: "PROTOCOL_ERROR" }),
    );
  });
});

describe("MQTT discovery topics and payloads", () => {
  const presence = {
    v: 1,
    nodeId: "pi-7",
    ts: 1,
    sessionId: "s1",
    state: "online",
    agentVersion: "0.1.0",
    protocolVersion: 1,
    startedAt: 1,
    heartbeatIntervalMs: 2000,
    expiryMs: 6000,
    endpoint: "tcp://10.0.0.7:5555",
  };

  it("builds and splits versioned topics", () => {
    expect(nodeTopic("factory/iotfog", "pi-7", "presence")).toBe("factory/iotfog/v1/nodes/pi-7/presence");
    expect(nodeTopicFilter("iotfog", "heartbeat")).toBe("iotfog/v1/nodes/+/heartbeat");
    expect(parseNodeTopic("iotfog", "iotfog/v1/nodes/pi-7/capabilities")).toEqual({
      nodeId: "pi-7",
      kind: "capabilities",
    });
    expect(parseNodeTopic("iotfog", "iotfog/v2/nodes/pi-7/capabilities")).toBeUndefined();
    expect(() => nodeTopic("iot/+", "pi-7", "presence")).toThrow(/prefix/);
    expect(() => nodeTopic("iotfog", "a/b", "presence")).toThrow(/node id/);
  });

  it("validates payloads on receipt, including the node id against the topic", () => {
    const msg = parseNodeMessage("iotfog", "iotfog/v1/nodes/pi-7/presence", JSON.stringify(presence));
    expect(msg).toMatchObject({ kind: "presence", nodeId: "pi-7", cleared: false });
    expect(() =>
      parseNodeMessage("iotfog", "iotfog/v1/nodes/pi-8/presence", JSON.stringify(presence)),
    ).toThrow(/does not match the topic's node/);
    expect(() =>
      parseNodeMessage(
        "iotfog",
        "iotfog/v1/nodes/pi-7/presence",
        JSON.stringify({ ...presence, state: "maybe" }),
      ),
    ).toThrow(/field "state"/);
    expect(parseNodeMessage("iotfog", "iotfog/v1/nodes/pi-7/presence", "")).toEqual({
      kind: "presence",
      nodeId: "pi-7",
      cleared: true,
    });
    expect(parseNodeMessage("iotfog", "other/topic", "{}")).toBeUndefined();
  });

  it("refuses to publish an invalid payload", () => {
    expect(() => encodeNodePayload("presence", { ...presence, expiryMs: -1 })).toThrow(/expiryMs/);
  });
});
