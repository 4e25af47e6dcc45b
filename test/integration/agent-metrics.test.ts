/**
 * The agent's Prometheus metrics on a real agent (real Docker, real Mosquitto): /metrics behind the REST token
 * or the scrape token, a deployed container's CPU, memory, limit and restarts read from the engine's stats by
 * the sampler, and the command endpoint's counts.
 */
import { AgentClient } from "@openiotfog/shared";
import type { Agent as EdgeAgent } from "@openiotfog/edge-agent";
import {
  docker,
  execInContainer,
  requireDocker,
  requireMqtt,
  waitFor,
  TEST_IMAGE,
} from "../helpers/services";
import { startInProcess, testAgentSetup, type TestAgentSetup } from "./agent-helpers";

const REST_TOKEN = "agent-metrics-rest-token";
const SCRAPE_TOKEN = "agent-metrics-scrape-token";

/** The value of one series in a text exposition, or undefined when the series is not there. */
function valueOf(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe("agent metrics", () => {
  let setup: TestAgentSetup;
  let agent: EdgeAgent;
  let client: AgentClient;
  let url: string;

  beforeAll(async () => {
    await requireMqtt();
    await requireDocker();
    setup = await testAgentSetup({
      hardware: { bind: "tcp://127.0.0.1:*", udev: false },
      monitoring: { pubBind: "tcp://127.0.0.1:*" },
      rest: { port: 0, token: REST_TOKEN },
      metrics: { scrapeToken: SCRAPE_TOKEN, containerIntervalMs: 300 },
      runtime: { pullMissingImages: false },
    });
    agent = await startInProcess(setup.config);
    client = new AgentClient({ endpoint: setup.endpoint, timeoutMs: 10000, curve: setup.curve });
    url = `${agent.ops.restUrl()!}/metrics`;
  });

  afterAll(async () => {
    await client?.close();
    await agent?.lifecycle.stop();
    await setup?.cleanup();
  });

  const scrape = async (token = SCRAPE_TOKEN): Promise<string> => {
    const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    return res.text();
  };

  it("needs the REST token or the scrape token; the scrape token opens nothing else", async () => {
    expect((await fetch(url)).status).toBe(401);
    expect((await fetch(url, { headers: { authorization: "Bearer some-other-token-x" } })).status).toBe(401);
    expect(await scrape(REST_TOKEN)).toContain("iotfog_agent_info");
    expect(await scrape(SCRAPE_TOKEN)).toContain("iotfog_node_memory_total_bytes");
    const status = await fetch(url.replace("/metrics", "/api/v1/status"), {
      headers: { authorization: `Bearer ${SCRAPE_TOKEN}` },
    });
    expect(status.status).toBe(401);
  });

  it("reads a deployed container's memory, limit, CPU and restarts from the engine", async () => {
    await client.call("deploy", {
      deploymentId: "metrics-m1",
      spec: {
        name: "worker",
        image: TEST_IMAGE,
        // Exits on SIGTERM so the test can make the engine restart it.
        command: ["sh", "-c", "trap 'exit 3' TERM; while true; do sleep 1; done"],
        restart: "unless-stopped",
        resources: { memoryBytes: 64 * 1024 * 1024 },
      },
    });
    const [listed] = await docker().listContainers({
      filters: { label: [`org.openiotfog.deployment=metrics-m1`] },
    });
    const name = listed!.Names[0]!.replace(/^\//, "");
    const series = `{deployment="metrics-m1",service="worker",replica="0",container="${name}"}`;
    const text = await waitFor(
      async () => {
        const t = await scrape();
        return (valueOf(t, `iotfog_container_memory_working_set_bytes${series}`) ?? 0) > 0 &&
          valueOf(t, `iotfog_container_cpu_cores${series}`) !== undefined
          ? t
          : undefined;
      },
      { timeoutMs: 15000, what: "the container's figures in /metrics" },
    );
    expect(valueOf(text, `iotfog_container_memory_limit_bytes${series}`)).toBe(64 * 1024 * 1024);
    expect(valueOf(text, `iotfog_container_cpu_seconds_total${series}`)).toBeGreaterThan(0);
    expect(valueOf(text, `iotfog_container_network_receive_bytes_total${series}`)).toBeGreaterThanOrEqual(0);
    expect(valueOf(text, `iotfog_container_restarts_total${series}`)).toBe(0);
    expect(valueOf(text, 'iotfog_agent_commands_total{command="deploy",outcome="ok"}')).toBe(1);
    expect(valueOf(text, 'iotfog_agent_command_duration_seconds_count{command="deploy"}')).toBe(1);

    await execInContainer(docker().getContainer(listed!.Id), ["kill", "1"]);
    await waitFor(
      async () =>
        (valueOf(await scrape(), `iotfog_container_restarts_total${series}`) ?? 0) >= 1 ? true : undefined,
      { timeoutMs: 15000, what: "the engine's restart counted" },
    );
  });
});
