/**
 * Schema evolution of the MQTT discovery payloads (docs/agent.md, "Schema evolution"): during a rolling upgrade
 * a reader meets payloads of a newer agent. Fields it does not know are dropped; the fields it knows are
 * validated as before; the writer stays strict.
 */
import {
  encodeNodePayload,
  heartbeatPayloadSchema,
  nodeTopic,
  parseNodeMessage,
  tolerantReader,
  usagePayloadSchema,
} from "@openiotfog/shared";

const header = { v: 1, nodeId: "pi-7", ts: 1, sessionId: "s1" };
const heartbeat = {
  ...header,
  seq: 3,
  uptimeMs: 6000,
  resources: {
    memory: { totalBytes: 4e9, freeBytes: 1e9 },
    disk: { totalBytes: 32e9, freeBytes: 20e9 },
    load: [0.1, 0.2, 0.3],
    cpuCores: 4,
  },
  deployments: { total: 1, running: 1 },
};
const usage = {
  ...header,
  intervalMs: 10000,
  node: { cpuBusyCores: 0.5, cpuCores: 4, memoryUsedBytes: 3e9, memoryTotalBytes: 4e9 },
  containers: [
    { deploymentId: "gw.gateway.0", cpuCores: 0.25, memoryBytes: 5e6, memoryLimitBytes: 64e6, restarts: 0 },
  ],
};
const capabilities = {
  ...header,
  capabilities: {
    schemaVersion: 1,
    nodeId: "pi-7",
    hostname: "pi-7.local",
    role: "worker",
    platform: { arch: "arm64", os: "linux", kernel: "6.1" },
    agentVersion: "0.1.0",
    resources: {
      cpu: { cores: 4 },
      memory: { totalBytes: 4e9, freeBytes: 3e9 },
      disk: { totalBytes: 32e9, freeBytes: 20e9 },
    },
    devices: [{ id: "zb-1", class: "zigbee", path: "/dev/ttyUSB0" }],
    software: [],
    protocols: [],
    labels: {},
    engineLabels: {},
  },
};
const topic = (kind: "heartbeat" | "capabilities" | "usage") => nodeTopic("iotfog", "pi-7", kind);

/** What a later agent might send: new fields at the top, in nested objects and in array elements. */
const newerHeartbeat = {
  ...heartbeat,
  gpu: { busy: 0.5 },
  resources: {
    ...heartbeat.resources,
    temperatureC: 61,
    memory: { ...heartbeat.resources.memory, swapBytes: 0 },
  },
};
const newerUsage = {
  ...usage,
  node: { ...usage.node, temperatureC: 61 },
  containers: usage.containers.map((c) => ({ ...c, pids: 12, blockReadBytes: 4096 })),
};
const newerCapabilities = {
  ...capabilities,
  capabilities: {
    ...capabilities.capabilities,
    accelerators: ["npu"],
    platform: { ...capabilities.capabilities.platform, board: "rpi5" },
    devices: [{ ...capabilities.capabilities.devices[0], firmware: "2.1" }],
    hostPolicy: { allowHostNetwork: true, allowGpio: true },
  },
};

describe("MQTT payloads of a newer agent", () => {
  it("are accepted by this reader, which drops the fields it does not know and keeps the rest", () => {
    const m = parseNodeMessage("iotfog", topic("heartbeat"), JSON.stringify(newerHeartbeat));
    expect(m).toMatchObject({ kind: "heartbeat", nodeId: "pi-7", cleared: false });
    expect(m?.cleared === false && m.payload).toEqual(heartbeat);
    const u = parseNodeMessage("iotfog", topic("usage"), JSON.stringify(newerUsage));
    expect(u?.cleared === false && u.payload).toEqual(usage);

    const c = parseNodeMessage("iotfog", topic("capabilities"), JSON.stringify(newerCapabilities));
    expect(c?.cleared === false && c.kind === "capabilities" && c.payload.capabilities).toMatchObject({
      platform: { arch: "arm64", os: "linux", kernel: "6.1" },
      devices: [{ id: "zb-1", class: "zigbee", path: "/dev/ttyUSB0" }],
      hostPolicy: { allowHostNetwork: true },
    });
    const caps = c?.cleared === false && c.kind === "capabilities" ? c.payload.capabilities : undefined;
    expect(caps).not.toHaveProperty("accelerators");
    expect(caps?.platform).not.toHaveProperty("board");
    expect(caps?.devices[0]).not.toHaveProperty("firmware");
    expect(caps?.hostPolicy).not.toHaveProperty("allowGpio");
  });

  it("are accepted by a reader older than one of their fields (the schema as it was, read from now on)", () => {
    const olderReader = tolerantReader(usagePayloadSchema.omit({ intervalMs: true }));
    const parsed = olderReader.safeParse(newerUsage);
    expect(parsed.success).toBe(true);
    expect(parsed.success && parsed.data).not.toHaveProperty("intervalMs");
    expect(parsed.success && parsed.data.containers[0]).toEqual(usage.containers[0]);
  });

  it("on a topic a reader does not know are ignored by it, not refused (how the usage topic reaches older drivers)", () => {
    expect(
      parseNodeMessage("iotfog", "iotfog/v1/nodes/pi-7/temperature", JSON.stringify(usage)),
    ).toBeUndefined();
  });

  it.each([
    [
      { ...newerHeartbeat, resources: { ...newerHeartbeat.resources, cpuCores: 0 } },
      'field "resources.cpuCores"',
    ],
    [{ ...newerHeartbeat, seq: undefined }, 'field "seq": Required'],
    [{ ...newerHeartbeat, v: 2 }, 'field "v": must be 1: a payload of another schema version'],
  ])("still refuse a malformed known field, naming it (%#)", (bad, message) => {
    expect(() => parseNodeMessage("iotfog", topic("heartbeat"), JSON.stringify(bad))).toThrow(message);
  });

  it.each([
    [
      { ...newerUsage, containers: [{ ...newerUsage.containers[0], memoryBytes: "lots" }] },
      'field "containers[0].memoryBytes": Expected number, received string',
    ],
    [
      { ...newerUsage, containers: [{ ...newerUsage.containers[0], restarts: -1 }] },
      'field "containers[0].restarts"',
    ],
    [{ ...newerUsage, node: { ...newerUsage.node, cpuCores: 0 } }, 'field "node.cpuCores"'],
  ])("still refuse a malformed known usage field, naming it (%#)", (bad, message) => {
    expect(() => parseNodeMessage("iotfog", topic("usage"), JSON.stringify(bad))).toThrow(message);
  });

  it("still refuse a malformed known field inside the capabilities, naming it", () => {
    const bad = {
      ...newerCapabilities,
      capabilities: {
        ...newerCapabilities.capabilities,
        devices: [{ id: "zb-1", class: "zigbee", path: "" }],
      },
    };
    expect(() => parseNodeMessage("iotfog", topic("capabilities"), JSON.stringify(bad))).toThrow(
      'field "capabilities.devices[0].path": must not be empty',
    );
  });

  it("are never written by this version: the writer's schema stays strict", () => {
    expect(() => encodeNodePayload("heartbeat", newerHeartbeat)).toThrow(
      /Unrecognized key\(s\) in object: 'gpu'/,
    );
    expect(JSON.parse(encodeNodePayload("heartbeat", heartbeat))).toEqual(heartbeat);
    // Deriving the reader did not relax the writer's schema.
    expect(heartbeatPayloadSchema.safeParse(newerHeartbeat).success).toBe(false);
  });
});
