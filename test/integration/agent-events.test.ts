/**
 * Hardware events end to end (real Mosquitto, real Docker): a listener process publishes "ZigBee stick
 * attached" → the capabilities on MQTT show it → a service needing a ZigBee device is admitted and gets the
 * device; "detached" → the capability disappears and the deployment is degraded; back → restored.
 */
import { Subscriber } from "zeromq";
import { AgentClient, curveClientOptions, nodeTopic } from "@openiotfog/shared";
import { TEST_IMAGE, docker, requireDocker, requireMqtt, uniqueName, waitFor } from "../helpers/services";
import {
  REST_TOKEN,
  capabilitiesOf,
  fakeTty,
  listenerPublishes,
  observeMqtt,
  startTestAgent,
  type MqttObserver,
  type TestAgent,
} from "./agent-events-harness";

describe("agent hardware events", () => {
  const prefix = uniqueName("iotfog-hw");
  let a: TestAgent;
  let observer: MqttObserver;
  let client: AgentClient;
  let pub: Subscriber;
  const published: string[] = [];

  beforeAll(async () => {
    await requireMqtt();
    await requireDocker();
    observer = await observeMqtt(prefix);
    a = await startTestAgent({
      prefix,
      name: "hw",
      labels: { line: "3" },
      // The stick exists only because a listener says so (discovery's roots are empty): its operator vouches for
      // device paths under the agent's directory, where the test makes the stick's device node.
      hostPolicy: (dir) => ({ allowDevicePaths: [dir] }),
    });
    client = new AgentClient({
      endpoint: a.agent.endpoint.advertise,
      timeoutMs: 20000,
      retries: 0,
      curve: a.curve,
    });
    // The events PUB admits the fleet's key like the command endpoint.
    pub = new Subscriber({ linger: 0, ...curveClientOptions(a.curve, a.curve.serverKey) });
    pub.connect(a.agent.ops.endpoints().events!);
    pub.subscribe("device.", "deployment.");
    void (async () => {
      for await (const [type] of pub) published.push(type!.toString());
    })().catch(() => undefined);
  });

  afterAll(async () => {
    pub?.close();
    await client?.close();
    await a?.stop();
    await observer?.close();
  });

  it("republishes an attached stick, admits a ZigBee service, degrades and restores it", async () => {
    const hwEndpoint = a.agent.ops.endpoints().hardwareEvents!;
    const capsTopic = nodeTopic(prefix, a.nodeId, "capabilities");
    const eventsTopic = nodeTopic(prefix, a.nodeId, "events");
    const tty = await fakeTty(a.dir, "ttyZB0");
    const stick = {
      class: "zigbee",
      vendorId: "10c4",
      productId: "ea60",
      serial: "00124b00deadbeef",
      path: tty,
      protocol: "zigbee",
    };

    const sentAt = await listenerPublishes(hwEndpoint, "attached", stick);
    const shown = await observer.next(
      (m) => m.topic === capsTopic && capabilitiesOf(m).devices.some((d) => d.class === "zigbee"),
      { since: sentAt - 1000, what: "capabilities with the ZigBee stick" },
    );
    // A figure, not an assertion: how fast this is depends on the machine (bench/ holds the targets).
    console.log(`hardware event → capabilities on MQTT: ${shown.at - sentAt} ms`);
    const zigbee = capabilitiesOf(shown).devices.find((d) => d.class === "zigbee")!;
    expect(zigbee.path).toBe(tty);
    await observer.next((m) => m.topic === eventsTopic && m.payload.type === "device.attached", {
      what: "device.attached on the events topic",
    });

    // A trap so the container stops at once when the agent re-creates it.
    const spec = {
      name: "zigbee-gw",
      image: TEST_IMAGE,
      command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"],
      devices: [{ class: "zigbee", containerPath: "/dev/ttyZB0" }],
    };
    const deployed = await client.call("deploy", { deploymentId: uniqueName("zb"), spec });
    expect(deployed.deployment.devices).toEqual([
      { deviceId: zigbee.id, hostPath: tty, containerPath: "/dev/ttyZB0" },
    ]);
    const inspected = await docker().getContainer(deployed.deployment.containerId!).inspect();
    expect(inspected.HostConfig.Devices).toEqual([
      expect.objectContaining({ PathOnHost: tty, PathInContainer: "/dev/ttyZB0" }),
    ]);
    // Exclusive lease: a second service never gets the same stick.
    await expect(
      client.call("deploy", { deploymentId: uniqueName("zb2"), spec: { ...spec, name: "zigbee-gw2" } }),
    ).rejects.toMatchObject({
      code: "ADMISSION_REFUSED",
    });

    const goneAt = await listenerPublishes(hwEndpoint, "detached", { class: "zigbee", serial: stick.serial });
    await observer.next(
      (m) => m.topic === capsTopic && !capabilitiesOf(m).devices.some((d) => d.class === "zigbee"),
      {
        since: goneAt - 1000,
        what: "capabilities without the stick",
      },
    );
    const degraded = await observer.next(
      (m) => m.topic === eventsTopic && m.payload.type === "deployment.degraded",
      { what: "deployment.degraded on MQTT" },
    );
    expect((degraded.payload.data as { deploymentId: string }).deploymentId).toBe(
      deployed.deployment.deploymentId,
    );
    const rest = a.agent.ops.restUrl()!;
    const view = await fetch(`${rest}/api/v1/deployments/${deployed.deployment.deploymentId}`, {
      headers: { authorization: `Bearer ${REST_TOKEN}` },
    });
    expect(await view.json()).toMatchObject({
      health: "degraded",
      missingDevices: [zigbee.id],
      state: "running",
    });

    await listenerPublishes(hwEndpoint, "attached", stick);
    await observer.next((m) => m.topic === eventsTopic && m.payload.type === "deployment.restored", {
      what: "deployment.restored on MQTT",
    });
    const after = await client.call("inspect", { deploymentId: deployed.deployment.deploymentId });
    expect(after.state).toBe("running");
    expect(after.containerId).not.toBe(deployed.deployment.containerId);
    const remapped = await docker().getContainer(after.containerId!).inspect();
    expect(remapped.HostConfig.Devices?.[0]).toMatchObject({
      PathOnHost: tty,
      PathInContainer: "/dev/ttyZB0",
    });
    await waitFor(() => published.includes("deployment.restored"), {
      what: "events on the ZeroMQ PUB socket",
    });
    expect(published).toEqual(
      expect.arrayContaining(["device.attached", "device.detached", "deployment.degraded"]),
    );
  });

  it("counts and reports a bad hardware event and keeps serving", async () => {
    const hwEndpoint = a.agent.ops.endpoints().hardwareEvents!;
    await listenerPublishes(hwEndpoint, "attached", { class: "ZigBee Stick", path: "dev/tty" });
    const rejected = await waitFor(() => a.agent.ops.bus.history({ types: ["hardware.event.rejected"] })[0], {
      what: "hardware.event.rejected",
    });
    expect(rejected.message).toContain('field "device.class"');
    expect(rejected.message).toContain('field "device.path"');
    expect(a.agent.ops.hardware.getStats().rejectedBy.invalid).toBe(1);
    await listenerPublishes(hwEndpoint, "attached", { class: "serial", path: "/dev/ttyS9", serial: "s9" });
    await waitFor(() => a.agent.capabilities.current().devices.some((d) => d.serial === "s9"), {
      what: "the serial adapter in the capabilities",
    });
  });
});
