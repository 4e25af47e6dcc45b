/**
 * Debian's Prometheus server scrapes a real agent and the real driver: a temporary configuration on a free port
 * with a 1 s scrape interval, the agents found through the driver's HTTP service discovery (/metrics/targets),
 * every scrape with the scrape token from a credentials file. After a launchInstanceAndWait through the NFVO
 * emulator (real RabbitMQ, Mosquitto, Docker), PromQL over Prometheus' HTTP API returns the launched
 * container's memory from the agent and the launch count from the driver.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Agent } from "@openiotfog/edge-agent";
import { formatFogSpec } from "@openiotfog/vim-driver/openbaton/fog-spec";
import {
  MQTT_URL,
  ServiceMissingError,
  TEST_IMAGE,
  containersOfNode,
  freePort,
  requireDocker,
  requireMqtt,
  requireRabbitMq,
  uniqueName,
  waitFor,
} from "../helpers/services";
import { startDriverHarness, type DriverHarness } from "../nfvo-emulator/harness";
import { startInProcess, testAgentSetup, type TestAgentSetup } from "./agent-helpers";

const SCRAPE_TOKEN = "prometheus-test-scrape-token";
const API_TOKEN = "prometheus-test-api-token-0123";
const USERDATA = `#!/bin/sh\n#Hostname=\n${formatFogSpec({ command: ["sleep", "3600"] })}\n`;

function requirePrometheus(): void {
  const r = spawnSync("prometheus", ["--version"], { encoding: "utf8" });
  if (r.error !== undefined || r.status !== 0) {
    throw new ServiceMissingError(
      "Prometheus server",
      "no `prometheus` on PATH: Debian's prometheus package",
    );
  }
}

interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

describe("Prometheus scrapes the agent and the driver", () => {
  const prefix = uniqueName("iotfog-prom");
  const dir = mkdtempSync(path.join(os.tmpdir(), "iotfog-prometheus-"));
  let setup: TestAgentSetup;
  let agent: Agent;
  let h: DriverHarness;
  let prometheus: ChildProcess | undefined;
  let promUrl: string;
  let vcId: string | undefined;
  let log = "";

  const query = async (promql: string): Promise<Sample[]> => {
    const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(promql)}`);
    const body = (await res.json()) as { status: string; data?: { result: Sample[] }; error?: string };
    if (body.status !== "success") throw new Error(`PromQL ${promql}: ${body.error ?? res.status}`);
    return body.data?.result ?? [];
  };

  beforeAll(async () => {
    requirePrometheus();
    await requireDocker();
    await requireMqtt();
    await requireRabbitMq();
    setup = await testAgentSetup({
      mqtt: { url: MQTT_URL, topicPrefix: prefix, keepaliveSeconds: 1 },
      hardware: { bind: "tcp://127.0.0.1:*", udev: false },
      monitoring: { pubBind: "tcp://127.0.0.1:*" },
      rest: { port: 0, token: "prometheus-test-rest-token" },
      metrics: { scrapeToken: SCRAPE_TOKEN, containerIntervalMs: 500 },
    });
    agent = await startInProcess(setup.config);
    const apiPort = await freePort();
    h = await startDriverHarness({
      topicPrefix: prefix,
      driver: {
        launchTimeoutMs: 60000,
        api: { enabled: true, port: apiPort, token: API_TOKEN, gui: false },
        metrics: { scrapeToken: SCRAPE_TOKEN },
      },
    });
    await h.emulator.registerVim(h.vim);
    await h.waitForNodes(1);

    const tokenFile = path.join(dir, "scrape-token");
    writeFileSync(tokenFile, `${SCRAPE_TOKEN}\n`, { mode: 0o600 });
    const auth = ["    authorization:", `      credentials_file: ${tokenFile}`];
    writeFileSync(
      path.join(dir, "prometheus.yml"),
      [
        "global:",
        "  scrape_interval: 1s",
        "  evaluation_interval: 1s",
        "scrape_configs:",
        "  - job_name: iotfog-driver",
        ...auth,
        "    static_configs:",
        `      - targets: ["127.0.0.1:${apiPort}"]`,
        "  - job_name: iotfog-agents",
        ...auth,
        "    http_sd_configs:",
        `      - url: http://127.0.0.1:${apiPort}/metrics/targets`,
        "        refresh_interval: 1s",
        // `type` spelled out: Prometheus 2.42 sends the bare credentials to service discovery without it.
        "        authorization:",
        "          type: Bearer",
        `          credentials_file: ${tokenFile}`,
        "",
      ].join("\n"),
    );
    const promPort = await freePort();
    promUrl = `http://127.0.0.1:${promPort}`;
    prometheus = spawn(
      "prometheus",
      [
        `--config.file=${path.join(dir, "prometheus.yml")}`,
        `--storage.tsdb.path=${path.join(dir, "data")}`,
        `--web.listen-address=127.0.0.1:${promPort}`,
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    log = "";
    prometheus.stderr?.on("data", (c: Buffer) => (log = (log + c.toString("utf8")).slice(-4000)));
    await waitFor(
      async () => {
        if (prometheus?.exitCode !== null) throw new Error(`prometheus exited: ${log}`);
        return (await fetch(`${promUrl}/-/ready`).catch(() => undefined))?.ok === true ? true : undefined;
      },
      { timeoutMs: 30000, what: "Prometheus ready" },
    );
  });

  afterAll(async () => {
    if (prometheus !== undefined && prometheus.exitCode === null) {
      const exited = new Promise((r) => prometheus?.once("exit", r));
      prometheus.kill("SIGTERM");
      await exited;
    }
    if (vcId !== undefined) await h?.emulator.release(h.vim.name, vcId).catch(() => undefined);
    await h?.emulator.call(h.vim, "deleteNetwork", ["iotfog-prom-lan"], "Boolean").catch(() => undefined);
    await h?.close();
    await agent?.lifecycle.stop();
    await setup?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it("finds the agent through the driver's service discovery and scrapes both with the scrape token", async () => {
    const up = await waitFor(
      async () => {
        const r = await query("up");
        if (r.length === 2 && r.every((s) => s.value[1] === "1")) return r;
        throw new Error(`up: ${JSON.stringify(r)}; Prometheus says: ${log.slice(-1000)}`);
      },
      { timeoutMs: 30000, what: "both targets up" },
    );
    const agentTarget = up.find((s) => s.metric.job === "iotfog-agents");
    expect(agentTarget?.metric.node).toBe(setup.nodeId);
    expect(agentTarget?.metric.instance).toBe(new URL(agent.ops.restUrl()!).host);
  });

  it("returns the launched container's memory and the driver's launchInstanceAndWait count", async () => {
    await h.emulator.call(h.vim, "createNetwork", [{ name: "prom-lan" }], "BaseNetwork");
    await h.emulator.refresh(h.vim.name);
    const vnfc = await h.emulator.allocate(h.vim.name, {
      vnfrName: "gateway",
      vmImage: TEST_IMAGE,
      connectionPoints: [{ virtual_link_reference: "prom-lan" }],
      userdata: USERDATA,
    });
    vcId = vnfc.server.extId as string;
    const [container] = await containersOfNode(setup.nodeId);
    const deployment = container!.Labels["org.openiotfog.deployment"]!;

    const memory = await waitFor(
      async () => {
        const r = await query(`iotfog_container_memory_working_set_bytes{deployment="${deployment}"}`);
        return r.length === 1 && Number(r[0]!.value[1]) > 0 ? r[0] : undefined;
      },
      { timeoutMs: 30000, what: "the container's memory in Prometheus" },
    );
    expect(memory?.metric).toMatchObject({ job: "iotfog-agents", node: setup.nodeId, deployment });

    const launches = await waitFor(
      async () => {
        const r = await query(
          'iotfog_openbaton_requests_total{method="launchInstanceAndWait",outcome="ok",job="iotfog-driver"}',
        );
        return r.length === 1 ? r[0] : undefined;
      },
      { timeoutMs: 30000, what: "the launch count in Prometheus" },
    );
    expect(Number(launches?.value[1])).toBe(1);
    const latency = await query(
      'iotfog_openbaton_request_duration_seconds_count{method="launchInstanceAndWait",outcome="ok"}',
    );
    expect(latency.map((s) => Number(s.value[1]))).toEqual([1]);
    const placed = await query('iotfog_placement_decisions_total{outcome="placed"}');
    expect(placed.map((s) => Number(s.value[1]))).toEqual([1]);
    const nodes = await query('iotfog_fleet_nodes{state="online"}');
    expect(nodes.map((s) => Number(s.value[1]))).toEqual([1]);
  });
});
