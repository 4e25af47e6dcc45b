/**
 * The fleet view of a secure fleet believes only what the enrolled node signed (docs/security.md, "MQTT"): a
 * forged offline, an empty retained message, a forged heartbeat or a node that never enrolled change nothing.
 */
import {
  NodeMessageSigner,
  createLogger,
  generateKeyPair,
  nodeTopic,
  sharedSecret,
  verifyNodePayload,
  type NodeTopicKind,
} from "@openiotfog/shared";
import { EventLog } from "../../src/fleet/events";
import { FleetView } from "../../src/fleet/fleet-view";
import { TOPIC_PREFIX, capabilitiesMessage, heartbeatMessage, presenceMessage } from "./fixtures";

const fleet = generateKeyPair();
const node = generateKeyPair();
const intruder = generateKeyPair();
const signer = (keys = node) =>
  new NodeMessageSigner(
    () => keys,
    () => fleet.publicKey,
  );

function secureView(): FleetView {
  const enrolled = new Map([["pi-1", node.publicKey]]);
  return new FleetView({
    mqttUrl: "mqtt://unused",
    topicPrefix: TOPIC_PREFIX,
    nodeExpiryMs: 5000,
    events: new EventLog(),
    logger: createLogger({ component: "test", silent: true }),
    authenticate: (kind, nodeId, raw) => {
      const key = enrolled.get(nodeId);
      return key !== undefined && verifyNodePayload(kind, raw, [sharedSecret(fleet, key)]);
    },
  });
}

const signed = (kind: NodeTopicKind, text: string, keys = node): string =>
  JSON.stringify(signer(keys).sign(kind, JSON.parse(text) as Record<string, unknown>));

describe("fleet view with signed discovery messages", () => {
  const send = (view: FleetView, nodeId: string, kind: NodeTopicKind, payload: string): void =>
    view.onMessage(nodeTopic(TOPIC_PREFIX, nodeId, kind), payload);

  function onlineNode(): FleetView {
    const view = secureView();
    send(
      view,
      "pi-1",
      "presence",
      signed("presence", presenceMessage("pi-1", "online", { endpoint: "tcp://10.0.0.1:5555" })),
    );
    send(view, "pi-1", "capabilities", signed("capabilities", capabilitiesMessage("pi-1")));
    expect(view.node("pi-1")).toMatchObject({ online: true, endpoint: "tcp://10.0.0.1:5555" });
    expect(view.node("pi-1")?.capabilities).toBeDefined();
    return view;
  }

  it("takes the enrolled node's signed presence, and its signed offline", () => {
    const view = onlineNode();
    send(
      view,
      "pi-1",
      "presence",
      signed("presence", presenceMessage("pi-1", "offline", { reason: "shutdown" })),
    );
    expect(view.node("pi-1")).toMatchObject({ online: false, offlineReason: "shutdown" });
  });

  it("ignores a forged offline (unsigned, or signed with another key) carrying the node's session", () => {
    const view = onlineNode();
    const forged = presenceMessage("pi-1", "offline", { reason: "shutdown" });
    send(view, "pi-1", "presence", forged);
    send(view, "pi-1", "presence", signed("presence", forged, intruder));
    // A MAC copied from another message does not fit this one.
    const mac = (JSON.parse(signed("presence", presenceMessage("pi-1", "online"))) as { mac: string }).mac;
    send(view, "pi-1", "presence", JSON.stringify({ ...(JSON.parse(forged) as object), mac }));
    expect(view.node("pi-1")?.online).toBe(true);
    expect(view.unauthenticated.total).toBe(3);
  });

  it("ignores an empty retained presence or capability document", () => {
    const view = onlineNode();
    send(view, "pi-1", "presence", "");
    send(view, "pi-1", "capabilities", "");
    expect(view.node("pi-1")).toMatchObject({ online: true });
    expect(view.node("pi-1")?.capabilities).toBeDefined();
  });

  it("ignores a forged heartbeat that would move the node to another session before a forged offline", () => {
    const view = onlineNode();
    const hb = JSON.parse(heartbeatMessage("pi-1", { memoryBytes: 1, diskBytes: 1 })) as Record<
      string,
      unknown
    >;
    send(view, "pi-1", "heartbeat", JSON.stringify({ ...hb, sessionId: "s-forged" }));
    send(view, "pi-1", "presence", presenceMessage("pi-1", "offline", { sessionId: "s-forged" }));
    expect(view.node("pi-1")?.online).toBe(true);
    expect(view.node("pi-1")?.live).toBeUndefined();
  });

  it("does not list a node that is not enrolled, even with a well-formed presence", () => {
    const view = secureView();
    send(view, "pi-9", "presence", signed("presence", presenceMessage("pi-9", "online"), intruder));
    send(view, "pi-9", "presence", presenceMessage("pi-9", "online"));
    expect(view.node("pi-9")).toBeUndefined();
    expect(view.nodes()).toEqual([]);
  });

  it("a signature covers the payload whatever the order of its fields", () => {
    const payload = JSON.parse(signed("presence", presenceMessage("pi-1", "online"))) as Record<
      string,
      unknown
    >;
    const reversed = Object.fromEntries(Object.entries(payload).reverse());
    const view = secureView();
    send(view, "pi-1", "presence", JSON.stringify(reversed));
    expect(view.node("pi-1")?.online).toBe(true);
  });

  it("a presence signed as another kind of message is refused", () => {
    const view = secureView();
    send(view, "pi-1", "presence", signed("heartbeat", presenceMessage("pi-1", "online")));
    expect(view.node("pi-1")).toBeUndefined();
  });
});
