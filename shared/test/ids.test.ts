import {
  agentDeploymentId,
  containerName,
  deploymentOfAgentId,
  deviceRef,
  fogNetworkName,
  parseAgentDeploymentId,
  parseDeviceRef,
  parseFogNetworkName,
  parseServerExtId,
  serverExtId,
} from "../src/ids";

/** Every composite id round-trips through its builder and parser, and a string of another form is refused. */

describe("composite identifiers", () => {
  it("agent deployment ids: <deployment>.<service>.<replica>", () => {
    const id = agentDeploymentId("ob-docker-fog-0a1b2c3d4e5f", "sensor-4711", 0);
    expect(id).toBe("ob-docker-fog-0a1b2c3d4e5f.sensor-4711.0");
    expect(parseAgentDeploymentId(id)).toEqual({
      deployment: "ob-docker-fog-0a1b2c3d4e5f",
      service: "sensor-4711",
      replica: 0,
    });
    expect(parseAgentDeploymentId(agentDeploymentId("web", "api", 12))).toEqual({
      deployment: "web",
      service: "api",
      replica: 12,
    });
    expect(deploymentOfAgentId(id)).toBe("ob-docker-fog-0a1b2c3d4e5f");
    for (const other of ["web", "web.api", "web.api.x", "Web.api.0", "web.api.0.1", ".api.0"]) {
      expect(parseAgentDeploymentId(other)).toBeUndefined();
      expect(deploymentOfAgentId(other)).toBe(other);
    }
  });

  it("Open Baton server extIds: <node>:<agent deployment id>", () => {
    const agentId = agentDeploymentId("ob-docker-fog-0a1b", "web-1", 0);
    const extId = serverExtId("pi-2", agentId);
    expect(extId).toBe("pi-2:ob-docker-fog-0a1b.web-1.0");
    expect(parseServerExtId(extId)).toEqual({ nodeId: "pi-2", agentDeploymentId: agentId });
    // Only the first ':' separates: an agent id never has one, but what follows is kept whole.
    expect(parseServerExtId("n:a:b")).toEqual({ nodeId: "n", agentDeploymentId: "a:b" });
    expect(parseServerExtId("ob-docker-fog-0a1b.web-1.0")).toBeUndefined();
    expect(parseServerExtId(":x")).toBeUndefined();
  });

  it("container names carry the node and the deployment", () => {
    expect(containerName("pi-2", "ob-x.web.0")).toBe("iotfog-pi-2-ob-x.web.0");
  });

  it("fog network names: per node, the slug read back only for the node it was made for", () => {
    const name = fogNetworkName("iotfog-", "cell-lan", "pi-2");
    expect(name).toMatch(/^iotfog-cell-lan\.[0-9a-f]{6}$/);
    expect(fogNetworkName("iotfog-", "cell-lan", "pi-3")).not.toBe(name);
    expect(parseFogNetworkName("iotfog-", name, "pi-2")).toBe("cell-lan");
    expect(parseFogNetworkName("iotfog-", name, "pi-3")).toBeUndefined();
    expect(parseFogNetworkName("other-", name, "pi-2")).toBeUndefined();
    expect(parseFogNetworkName("iotfog-", "iotfog-nodot", "pi-2")).toBeUndefined();
    expect(fogNetworkName("p-", "x".repeat(80), "n")).toHaveLength(63);
  });

  it("device references: <node>:<device>", () => {
    expect(parseDeviceRef(deviceRef("pi-2", "zigbee-0"))).toEqual({ nodeId: "pi-2", deviceId: "zigbee-0" });
    expect(parseDeviceRef("pi-2:usb:1")).toEqual({ nodeId: "pi-2", deviceId: "usb:1" });
    for (const bad of ["pi-2", ":zigbee-0", "pi-2:"]) expect(parseDeviceRef(bad)).toBeUndefined();
  });
});
