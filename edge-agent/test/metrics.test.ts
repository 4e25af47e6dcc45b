import { IotFogError, createLogger, type LiveResources } from "@openiotfog/shared";
import type { CommandHandlers } from "../src/endpoint/server";
import { AgentMetrics } from "../src/metrics/agent-metrics";
import { ContainerUsageSampler, type ContainerSample } from "../src/metrics/container-usage";
import { usageFromDockerStats } from "../src/runtime/docker-usage";
import type { ContainerStatus, ContainerUsage } from "../src/runtime/runtime";

const live: LiveResources = {
  memory: { totalBytes: 4e9, freeBytes: 1e9 },
  disk: { totalBytes: 64e9, freeBytes: 32e9 },
  load: [0.5, 0.4, 0.3],
  cpuCores: 4,
};

const usage = (over: Partial<ContainerUsage> = {}): ContainerUsage => ({
  cpuSeconds: 12.5,
  memoryBytes: 5_000_000,
  memoryLimitBytes: 1e9,
  networkReceiveBytes: 1000,
  networkTransmitBytes: 2000,
  restarts: 2,
  ...over,
});

function metricsWith(containers: ContainerSample[]): AgentMetrics {
  return new AgentMetrics({
    nodeId: "pi-07",
    containers: () => containers,
    live: async () => live,
    devices: () => [
      { id: "a", class: "zigbee", path: "/dev/ttyUSB0" },
      { id: "b", class: "zigbee", path: "/dev/ttyUSB1" },
      { id: "c", class: "camera", path: "/dev/video0" },
    ],
    hardware: () => ({
      received: 5,
      accepted: 4,
      rejected: 1,
      rejectedBy: { frames: 0, too_large: 0, not_json: 1, invalid: 0, limit: 0 },
    }),
    mqttConnections: () => 3,
  });
}

describe("container usage from the engine's stats", () => {
  it("reads cgroup v1 stats as docker stats does (working set without inactive file pages)", () => {
    const u = usageFromDockerStats(
      {
        cpu_stats: { cpu_usage: { total_usage: 2_500_000_000 } },
        memory_stats: { usage: 10_000_000, limit: 2e9, stats: { total_inactive_file: 4_000_000 } },
        networks: { eth0: { rx_bytes: 100, tx_bytes: 50 }, eth1: { rx_bytes: 1, tx_bytes: 2 } },
      },
      3,
    );
    expect(u).toEqual({
      cpuSeconds: 2.5,
      memoryBytes: 6_000_000,
      memoryLimitBytes: 2e9,
      networkReceiveBytes: 101,
      networkTransmitBytes: 52,
      restarts: 3,
    });
  });

  it("reads cgroup v2 stats and reads missing or malformed fields as 0", () => {
    const u = usageFromDockerStats(
      { memory_stats: { usage: 9000, stats: { inactive_file: 1000 } }, cpu_stats: "garbage" },
      undefined,
    );
    expect(u).toEqual({
      cpuSeconds: 0,
      memoryBytes: 8000,
      memoryLimitBytes: 0,
      networkReceiveBytes: 0,
      networkTransmitBytes: 0,
      restarts: 0,
    });
  });
});

describe("the container usage sampler", () => {
  it("reads running containers one at a time, derives cores busy, and forgets containers that are gone", async () => {
    const listed: ContainerStatus[] = [
      { id: "c1", name: "iotfog-n-d1", image: "x", state: "running", labels: labels("d1", "svc", "0") },
      { id: "c2", name: "iotfog-n-d2", image: "x", state: "exited", labels: labels("d2", "svc", "1") },
    ];
    let cpu = 10;
    let inFlight = 0;
    let most = 0;
    const runtime = {
      listContainers: async () => listed,
      containerUsage: async (id: string) => {
        inFlight += 1;
        most = Math.max(most, inFlight);
        await new Promise((r) => setTimeout(r, 5));
        inFlight -= 1;
        return id === "c1" ? usage({ cpuSeconds: cpu }) : undefined;
      },
    };
    const sampler = new ContainerUsageSampler(
      runtime,
      { intervalMs: 0, timeoutMs: 1000, maxContainers: 10 },
      createLogger({ component: "test", silent: true }),
    );
    await sampler.sample();
    expect(sampler.current().map((s) => s.deploymentId)).toEqual(["d1"]);
    expect(sampler.current()[0]?.cpuCores).toBeUndefined();
    await new Promise((r) => setTimeout(r, 50));
    cpu = 10.5;
    await sampler.sample();
    const [d1] = sampler.current();
    expect(d1?.service).toBe("svc");
    expect(d1?.replica).toBe("0");
    expect(d1?.cpuCores).toBeGreaterThan(0);
    expect(most).toBe(1);
    listed.splice(0, 1);
    await sampler.sample();
    expect(sampler.current()).toEqual([]);
  });
});

function labels(deployment: string, service: string, replica: string): Record<string, string> {
  return {
    "org.openiotfog.deployment": deployment,
    "org.openiotfog.service": service,
    "org.openiotfog.replica": replica,
  };
}

describe("the agent's metrics", () => {
  it("exposes container, node, device, hardware and MQTT figures in the text format", async () => {
    const sample: ContainerSample = {
      containerId: "c1",
      containerName: "iotfog-pi-07-gw",
      deploymentId: "gw",
      service: "gateway",
      replica: "0",
      usage: usage(),
      cpuCores: 0.25,
      at: 1_700_000_000_000,
    };
    const text = await metricsWith([sample]).metrics();
    const series = 'deployment="gw",service="gateway",replica="0",container="iotfog-pi-07-gw"';
    expect(text).toContain(`iotfog_container_cpu_seconds_total{${series}} 12.5`);
    expect(text).toContain(`iotfog_container_cpu_cores{${series}} 0.25`);
    expect(text).toContain(`iotfog_container_memory_working_set_bytes{${series}} 5000000`);
    expect(text).toContain(`iotfog_container_memory_limit_bytes{${series}} 1000000000`);
    expect(text).toContain(`iotfog_container_network_receive_bytes_total{${series}} 1000`);
    expect(text).toContain(`iotfog_container_network_transmit_bytes_total{${series}} 2000`);
    expect(text).toContain(`iotfog_container_restarts_total{${series}} 2`);
    expect(text).toContain(`iotfog_container_last_seen_timestamp_seconds{${series}} 1700000000`);
    expect(text).toContain("iotfog_node_memory_available_bytes 1000000000");
    expect(text).toContain("iotfog_node_cpu_cores 4");
    expect(text).toContain("iotfog_node_load1 0.5");
    expect(text).toMatch(/iotfog_node_cpu_seconds_total\{mode="idle"\} \d/);
    expect(text).toContain('iotfog_node_devices{class="zigbee"} 2');
    expect(text).toContain('iotfog_node_devices{class="camera"} 1');
    expect(text).toContain("iotfog_agent_hardware_events_accepted_total 4");
    expect(text).toContain('iotfog_agent_hardware_events_rejected_total{reason="not_json"} 1');
    expect(text).toContain("iotfog_agent_mqtt_reconnects_total 2");
    expect(text).toContain('iotfog_agent_info{node="pi-07"');
    expect(text).toMatch(/process_resident_memory_bytes \d+/);
  });

  it("counts and times commands by command and outcome, and counts reconcile actions", async () => {
    const metrics = metricsWith([]);
    const handlers = metrics.wrapHandlers({
      ping: async () => ({ pong: true }),
      inspect: async () => {
        throw new IotFogError("NOT_FOUND", "no such deployment");
      },
    } as unknown as CommandHandlers);
    const call = (name: string): Promise<unknown> =>
      (handlers as unknown as Record<string, (p: unknown, c: unknown) => Promise<unknown>>)[name]!({}, {});
    await call("ping");
    await call("ping");
    await expect(call("inspect")).rejects.toThrow("no such deployment");
    metrics.reconcileAction("recreated");
    const text = await metrics.metrics();
    expect(text).toContain('iotfog_agent_commands_total{command="ping",outcome="ok"} 2');
    expect(text).toContain('iotfog_agent_commands_total{command="inspect",outcome="NOT_FOUND"} 1');
    expect(text).toContain('iotfog_agent_command_duration_seconds_count{command="ping"} 2');
    expect(text).toContain('iotfog_agent_command_duration_seconds_bucket{le="+Inf",command="inspect"} 1');
    expect(text).toContain('iotfog_agent_reconcile_actions_total{action="recreated"} 1');
  });
});
