import { nodeTopic } from "@openiotfog/shared";
import { TOPIC_PREFIX as prefix, presenceMessage, testFleetView as fleetView } from "./fixtures";

const presence = (sessionId: string, endpoints?: Record<string, string>) =>
  presenceMessage("pi-1", "online", {
    sessionId,
    reason: "startup",
    endpoint: "tcp://10.0.0.7:5555",
    ...(endpoints === undefined ? {} : { endpoints }),
  });

describe("FleetView: the endpoints agents advertise", () => {
  it("keeps the endpoints of the node's latest session, and drops them when a session announces none", () => {
    const view = fleetView();
    const topic = nodeTopic(prefix, "pi-1", "presence");
    const endpoints = {
      commands: "tcp://10.0.0.7:5555",
      hardwareEvents: "tcp://127.0.0.1:5556",
      events: "tcp://10.0.0.7:5557",
      rest: "http://10.0.0.7:8470",
    };
    view.onMessage(topic, presence("s1", { commands: endpoints.commands }));
    expect(view.node("pi-1")?.endpoints).toEqual({ commands: endpoints.commands });
    // The agent republishes once its auxiliary endpoints are bound.
    view.onMessage(topic, presence("s1", endpoints));
    expect(view.node("pi-1")).toMatchObject({ online: true, endpoint: endpoints.commands, endpoints });
    // An older agent on the node: nothing stale is shown.
    view.onMessage(topic, presence("s2"));
    expect(view.node("pi-1")?.endpoints).toBeUndefined();
  });

  it("ignores a presence whose endpoints are invalid (validated on receipt)", () => {
    const view = fleetView();
    view.onMessage(nodeTopic(prefix, "pi-1", "presence"), presence("s1", { commands: "http://nope" }));
    expect(view.node("pi-1")).toBeUndefined();
  });
});
