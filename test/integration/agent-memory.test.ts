/**
 * The agent's memory measures in real processes (docs/agent.md, "Memory"), against Mosquitto and Docker: the
 * agent as shipped (edge-agent/dist/main.js with the systemd unit's node flags and environment: --jitless, the
 * stand-ins of runtime/defer-heavy.ts) serves MQTT, ZeroMQ and REST, and loads what it defers only once used;
 * and a periodic reconcile pass asks the Engine for one listing, not one per deployment.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { readFileSync, statSync } from "node:fs";
import path from "node:path";
import { AgentClient, createLogger } from "@openiotfog/shared";
import { EmbeddedBroker } from "@openiotfog/cli";
import {
  DockerRuntime,
  RuntimeRegistry,
  createAgent,
  type Agent,
  type ContainerRuntime,
} from "@openiotfog/edge-agent";
import {
  TEST_IMAGE,
  docker,
  freePort,
  requireDocker,
  requireMqtt,
  uniqueName,
  waitFor,
} from "../helpers/services";
import { DiscoveryWatcher, REPO, exited, testAgentSetup, type TestAgentSetup } from "./agent-helpers";

jest.setTimeout(90000);

beforeAll(async () => {
  await requireMqtt();
  await requireDocker();
});

/** The node flags and environment of the systemd unit (what the Dockerfile uses too). */
function unitSettings(): { flags: string[]; env: Record<string, string> } {
  const unit = readFileSync(path.join(REPO, "edge-agent/deploy/iotfog-agent.service"), "utf8");
  const words = (/^ExecStart=\S+\s+(.*)$/m.exec(unit)?.[1] ?? "").split(/\s+/);
  const flags = words.slice(
    0,
    words.findIndex((w) => !w.startsWith("--")),
  );
  const env = Object.fromEntries(
    [...unit.matchAll(/^Environment=(\w+)=(\S*)$/gm)].map((m) => [m[1]!, m[2]!]),
  );
  return { flags, env };
}

/** Package of a loaded file (the last node_modules/<name> in its path), or undefined for the project's own. */
function packageOf(file: string): string | undefined {
  const m = /.*node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(file);
  return m?.[1];
}

describe("the agent as shipped", () => {
  let setup: TestAgentSetup;
  let watcher: DiscoveryWatcher | undefined;
  let child: ChildProcess | undefined;
  let stderr = "";
  // An embedded broker this test can restart (MQTT.js runs on Node's own streams here: see defer-heavy.ts).
  const brokerLog = createLogger({ component: "broker-test", silent: true });
  let brokerPort: number;
  let broker: EmbeddedBroker;

  beforeAll(async () => {
    try {
      execFileSync("npx", ["tsc", "-b"], { cwd: REPO, stdio: "pipe" });
    } catch (e) {
      const out = (e as { stdout?: Buffer }).stdout?.toString() ?? "";
      throw new Error(`this test runs the built agent, and \`npx tsc -b\` failed:\n${out}`);
    }
    brokerPort = await freePort();
    broker = new EmbeddedBroker("127.0.0.1", brokerPort, brokerLog);
    await broker.start();
    setup = await testAgentSetup({
      mqtt: { url: broker.url },
      rest: { port: await freePort(), token: "memory-test-token" },
      hardware: { bind: `tcp://127.0.0.1:${await freePort()}`, udev: false },
      monitoring: { pubBind: `tcp://127.0.0.1:${await freePort()}` },
    });
    watcher = await DiscoveryWatcher.start(setup.prefix, broker.url);
  });

  afterAll(async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill("SIGKILL");
      await exited(child);
    }
    await watcher?.stop();
    await broker?.stop();
    await setup?.cleanup();
  });

  it("serves MQTT, ZeroMQ and REST under the unit's flags, loading deferred modules only when used", async () => {
    const { flags, env } = unitSettings();
    expect(flags).toContain("--jitless");
    const loadedFile = path.join(setup.dir, "loaded.json");
    const t0 = Date.now();
    child = spawn(
      process.execPath,
      [
        ...flags,
        "--require",
        path.join(REPO, "test/fixtures/report-loaded-packages.js"),
        path.join(REPO, "edge-agent/dist/main.js"),
        "--config",
        setup.configFile,
      ],
      {
        env: { ...process.env, ...env, IOTFOG_LOG_SILENT: "1", IOTFOG_TEST_LOADED_OUT: loadedFile },
        stdio: ["ignore", "ignore", "pipe"],
      },
    );
    child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
    const proc = child;
    const loaded = async (): Promise<{ packages: Set<string>; files: string[] }> => {
      const before = Date.now();
      proc.kill("SIGUSR2");
      const files = await waitFor(
        () => {
          try {
            const { mtimeMs } = statSync(loadedFile);
            return mtimeMs >= before - 5
              ? (JSON.parse(readFileSync(loadedFile, "utf8")) as string[])
              : undefined;
          } catch {
            return undefined;
          }
        },
        { what: `the agent's list of loaded modules (stderr: ${stderr})` },
      );
      return { packages: new Set(files.map(packageOf).filter((p): p is string => p !== undefined)), files };
    };

    await watcher!.waitFor("presence", (m) => m.payload.state === "online", { since: t0 });
    const client = new AgentClient({
      endpoint: setup.endpoint,
      timeoutMs: 5000,
      retries: 2,
      curve: setup.curve,
    });
    try {
      await client.call("ping", {});
      const atStart = await loaded();
      for (const needed of ["dockerode", "mqtt", "zeromq", "winston", "zod", "js-yaml"])
        expect(atStart.packages).toContain(needed);
      const deferred = [
        "ssh2",
        "@grpc/grpc-js",
        "protobufjs",
        "tar-fs",
        "tar-stream",
        "ws",
        "socks",
        "ip-address",
      ];
      const lazy = ["worker-timers", "broker-factory", "lru-cache", "semver", "yaml", "express"];
      for (const p of [...deferred, ...lazy]) expect(atStart.packages).not.toContain(p);
      expect(atStart.files.filter((f) => /js-yaml\/lib\/dumper\.js$/.test(f))).toEqual([]);
      // MQTT.js and bl use Node's own streams: their copies of readable-stream's stream code never load.
      expect(
        atStart.files.filter((f) =>
          /(mqtt|bl)\/node_modules\/readable-stream\/lib\/(internal|stream)/.test(f),
        ),
      ).toEqual([]);

      // A version constraint (semver) over ZeroMQ, and a YAML blueprint (yaml) over REST (express).
      const viaZmq = uniqueName("mem-zmq");
      const deployed = await client.call("deploy", {
        deploymentId: viaZmq,
        spec: {
          name: "mem-zmq",
          image: TEST_IMAGE,
          command: ["sleep", "3600"],
          constraints: {
            requirements: [{ attribute: "node.platform.kernel", operator: "version", value: ">= 3" }],
          },
        },
      });
      expect(deployed.deployment.state).toBe("running");
      const rest = `http://127.0.0.1:${setup.config.rest.port}/api/v1`;
      const auth = { authorization: "Bearer memory-test-token" };
      const viaRest = uniqueName("mem-rest");
      const posted = await fetch(`${rest}/deployments`, {
        method: "POST",
        headers: { ...auth, "content-type": "application/json" },
        body: JSON.stringify({
          deploymentId: viaRest,
          blueprint: [
            "tosca_definitions_version: openiotfog_blueprint_1_0",
            "metadata: { name: mem-rest }",
            "topology_template:",
            "  node_templates:",
            "    box:",
            "      type: openiotfog.nodes.Container",
            "      properties:",
            `        image: "${TEST_IMAGE}"`,
            "        command: [sleep, '3600']",
            "",
          ].join("\n"),
        }),
      });
      expect(posted.status).toBe(201);
      const { deployments } = (await posted.json()) as { deployments: Array<{ deploymentId: string }> };
      const listed = await client.call("list", {});
      expect(listed.deployments.map((d) => d.deploymentId).sort()).toEqual(
        [viaZmq, ...deployments.map((d) => d.deploymentId)].sort(),
      );

      const afterUse = await loaded();
      for (const p of ["semver", "yaml", "express"]) expect(afterUse.packages).toContain(p);
      for (const p of deferred) expect(afterUse.packages).not.toContain(p);

      // A broker restart: the agent reconnects and puts its retained presence back.
      await watcher!.stop();
      watcher = undefined;
      await broker.stop();
      broker = new EmbeddedBroker("127.0.0.1", brokerPort, brokerLog);
      await broker.start();
      watcher = await DiscoveryWatcher.start(setup.prefix, broker.url);
      const back = await watcher.waitFor("presence", (m) => m.payload.state === "online", {
        what: "the agent's presence on the restarted broker",
      });
      expect(back.payload.reason).toBe("reconnect");

      for (const d of listed.deployments) {
        await client.call("remove", { deploymentId: d.deploymentId, timeoutSeconds: 0 });
      }
    } finally {
      await client.close();
    }
    proc.kill("SIGTERM");
    expect(await exited(proc)).toBe(0);
    // No V8 warning about the flags (--no-expose-wasm states what --jitless implies).
    expect(stderr).toBe("");
  });
});

describe("periodic reconcile", () => {
  let setup: TestAgentSetup;
  let agent: Agent | undefined;
  let client: AgentClient | undefined;
  /** Listings of one deployment's containers (a pass's own listing of all containers is not counted). */
  const perDeployment: string[] = [];

  beforeAll(async () => {
    setup = await testAgentSetup({
      reconcileIntervalMs: 0,
      rest: { enabled: false },
      hardware: { bind: `tcp://127.0.0.1:${await freePort()}`, udev: false },
      monitoring: { pubBind: `tcp://127.0.0.1:${await freePort()}` },
      runtime: { pullMissingImages: false },
    });
    // The real Docker runtime, with its listings recorded.
    const runtimes = new RuntimeRegistry().register("docker", (config, logger): ContainerRuntime => {
      const real = new DockerRuntime({
        socketPath: config.runtime.docker.socketPath,
        nodeId: config.nodeId,
        logger,
      });
      const list = real.listContainers.bind(real);
      real.listContainers = (labels = {}) => {
        const id = labels["org.openiotfog.deployment"];
        if (id !== undefined) perDeployment.push(id);
        return list(labels);
      };
      return real;
    });
    agent = createAgent(setup.config, createLogger({ component: "agent-test", silent: true }), runtimes);
    await agent.lifecycle.start();
    client = new AgentClient({ endpoint: setup.endpoint, timeoutMs: 5000, retries: 1, curve: setup.curve });
  });

  afterAll(async () => {
    await client?.close();
    await agent?.lifecycle.stop();
    await setup?.cleanup();
  });

  it("lists the Engine once when nothing is to be done, and looks again only where something is", async () => {
    const ids = [uniqueName("rec-a"), uniqueName("rec-b"), uniqueName("rec-c")];
    for (const id of ids) {
      await client!.call("deploy", {
        deploymentId: id,
        spec: { name: "rec", image: TEST_IMAGE, command: ["sleep", "3600"], restart: "no" },
      });
    }
    perDeployment.length = 0;
    await agent!.deployments.reconcile(false);
    expect(perDeployment).toEqual([]);

    // A container removed behind the agent's back is re-created by the next pass, after a fresh look at it.
    const [gone] = await docker().listContainers({
      all: true,
      filters: { label: [`org.openiotfog.node=${setup.nodeId}`, `org.openiotfog.deployment=${ids[1]}`] },
    });
    await docker().getContainer(gone!.Id).remove({ force: true });
    await agent!.deployments.reconcile(false);
    expect(perDeployment).toEqual([ids[1]]);
    const again = await client!.call("inspect", { deploymentId: ids[1]! });
    expect(again.state).toBe("running");
    expect(again.containerId).not.toBe(gone!.Id);
  });
});
