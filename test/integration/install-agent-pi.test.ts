/**
 * The Raspberry Pi install path (scripts/install-agent-pi.sh), as far as this machine can take it: systemd is not
 * PID 1 here and there is no Pi, so the script installs into a temporary root (DESTDIR) for arm64, and the test
 * checks what it lays down (the agent tree with its linux-arm64 dependencies, the configuration, the unit enabled
 * for boot with `systemctl --root`), then runs the installed tree as the unit would (its node flags, its
 * configuration file) on Node 20 for linux-arm64 under qemu-aarch64-static, against the real Mosquitto, and sees
 * it announce itself as arm64. A second run keeps the operator's configuration. 32-bit ARM and --join (enrollment
 * not in this version) are refused with a clear message. Not checked here: apt-get, useradd and a real boot.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { appendFileSync, existsSync, mkdtempSync, readFileSync, readlinkSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { loadConfig } from "@openiotfog/shared";
import { agentConfigSchema } from "@openiotfog/edge-agent";
import { ARM64_NODE, mappedFiles, requireArm64 } from "../helpers/arm64";
import { stopProcess } from "../helpers/processes";
import { enrollTestNode } from "../helpers/fleet";
import { freePort, requireMqtt, uniqueName } from "../helpers/services";
import { DiscoveryWatcher, REPO, clearRetained } from "./agent-helpers";

jest.setTimeout(240000);

const run = promisify(execFile);
const SCRIPT = path.join(REPO, "scripts/install-agent-pi.sh");
const UNIT = path.join(REPO, "edge-agent/deploy/iotfog-agent.service");

async function install(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await run("bash", [SCRIPT, ...args], {
      env: { ...process.env, ...env },
      maxBuffer: 1 << 20,
    });
    return { code: 0, out: stdout + stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: err.code ?? -1, out: `${err.stdout ?? ""}${err.stderr ?? ""}` };
  }
}

describe("scripts/install-agent-pi.sh (Raspberry Pi OS 64-bit)", () => {
  const root = mkdtempSync(path.join(os.tmpdir(), "iotfog-pi-root-"));
  const nodeId = uniqueName("pi");
  const prefix = uniqueName("iotfog-test");
  let agent: ChildProcess | undefined;
  let watcher: DiscoveryWatcher | undefined;

  beforeAll(async () => {
    await requireMqtt();
    requireArm64();
    await run("npx", ["tsc", "-b"], { cwd: REPO });
  });

  afterAll(async () => {
    if (agent) await stopProcess(agent);
    await watcher?.stop();
    await clearRetained(prefix, nodeId);
    rmSync(root, { recursive: true, force: true });
  });

  it("lays down the agent for linux-arm64, its configuration and the unit enabled at boot", async () => {
    const t0 = Date.now();
    const r = await install(
      ["--arch", "arm64", "--node-id", nodeId, "--mqtt-url", "mqtt://broker.lan:1883"],
      {
        DESTDIR: root,
      },
    );
    console.log(`install-agent-pi.sh into a temporary root: ${Date.now() - t0} ms\n${r.out}`);
    expect(r.code).toBe(0);

    // The unit as shipped (the target's /usr/bin/node), enabled for multi-user.target: it starts at every boot.
    const unit = readFileSync(path.join(root, "etc/systemd/system/iotfog-agent.service"), "utf8");
    expect(unit).toBe(readFileSync(UNIT, "utf8"));
    expect(unit).toMatch(/^Restart=always$/m);
    expect(
      readlinkSync(path.join(root, "etc/systemd/system/multi-user.target.wants/iotfog-agent.service")),
    ).toBe("/etc/systemd/system/iotfog-agent.service");

    // The configuration: the example with this node's id and broker, valid for the agent.
    const config = loadConfig(agentConfigSchema, path.join(root, "etc/iotfog/agent.yaml"), {});
    expect(config.nodeId).toBe(nodeId);
    expect(config.mqtt.url).toBe("mqtt://broker.lan:1883");

    // The agent where the unit runs it, with zeromq's linux-arm64 addon; nothing compiled for this host.
    const opt = path.join(root, "opt/openiotfog");
    for (const f of [
      "edge-agent/dist/main.js",
      "node_modules/@openiotfog/shared/dist/index.js",
      "node_modules/zeromq/build/linux/arm64/node/glibc-127-Release/addon.node",
      "docs/agent.md",
    ])
      expect(existsSync(path.join(opt, f))).toBe(true);
    expect(existsSync(path.join(opt, "node_modules/cpu-features/build"))).toBe(false);
  });

  it("the installed tree runs as the unit runs it (arm64, emulated) and announces itself", async () => {
    const opt = path.join(root, "opt/openiotfog");
    const exec = /^ExecStart=\S+\s+(.*)$/m.exec(readFileSync(UNIT, "utf8"))?.[1] ?? "";
    const flags = exec.split(/\s+/).filter((t) => t.startsWith("--") && t !== "--config");
    // Enrolled in the test fleet (what the operator's join step does), into the installed data directory's
    // default security dir: the agent refuses to start unenrolled.
    await enrollTestNode(nodeId, path.join(root, "var/lib/iotfog/security"));
    watcher = await DiscoveryWatcher.start(prefix);
    const t0 = Date.now();
    // The installed configuration file, pointed at this test's broker, topic prefix, ports and data directory
    // through the documented IOTFOG_* overrides (the file itself is the one the script wrote).
    agent = spawn(
      "qemu-aarch64-static",
      [
        ARM64_NODE,
        ...flags,
        path.join(opt, "edge-agent/dist/main.js"),
        "--config",
        path.join(root, "etc/iotfog/agent.yaml"),
      ],
      {
        env: {
          ...process.env,
          IOTFOG_LOG_SILENT: "1",
          IOTFOG_MQTT__URL: "mqtt://127.0.0.1:1883",
          IOTFOG_MQTT__TOPIC_PREFIX: prefix,
          IOTFOG_DATA_DIR: path.join(root, "var/lib/iotfog"),
          IOTFOG_ZMQ__BIND: `tcp://127.0.0.1:${await freePort()}`,
          IOTFOG_HARDWARE__BIND: `tcp://127.0.0.1:${await freePort()}`,
          IOTFOG_MONITORING__PUB_BIND: `tcp://127.0.0.1:${await freePort()}`,
          IOTFOG_REST__PORT: String(await freePort()),
        },
        stdio: ["ignore", "ignore", "pipe"],
      },
    );
    let stderr = "";
    agent.stderr?.on("data", (b: Buffer) => (stderr += b.toString()));
    const caps = await watcher
      .waitFor("capabilities", (m) => m.payload.capabilities.nodeId === nodeId, {
        since: t0,
        timeoutMs: 90000,
        what: "capabilities of the installed agent",
      })
      .catch((e: unknown) => {
        throw new Error(`${String(e)}; agent stderr: ${stderr.slice(-2000)}`);
      });
    console.log(`the installed agent (emulated arm64) announced itself after ${Date.now() - t0} ms`);
    expect(caps.payload.capabilities.platform.arch).toBe("arm64");
    expect(caps.payload.capabilities.labels).toMatchObject({ zone: "hall-2", line: "line-1" });
    expect(mappedFiles(agent.pid!)).toContain(
      path.join(opt, "node_modules/zeromq/build/linux/arm64/node/glibc-127-Release/addon.node"),
    );
  });

  it("a second run updates the agent and keeps the operator's configuration", async () => {
    appendFileSync(path.join(root, "etc/iotfog/agent.yaml"), "role: manager\n");
    const r = await install(["--arch", "arm64"], { DESTDIR: root });
    expect(r.code).toBe(0);
    expect(r.out).toContain("keeping the existing");
    expect(readFileSync(path.join(root, "etc/iotfog/agent.yaml"), "utf8")).toMatch(/^role: manager$/m);
  });

  it("refuses 32-bit Raspberry Pi OS and a join token (not in this version) with a clear message", async () => {
    const armhf = await install(["--arch", "armhf"], { DESTDIR: root });
    expect(armhf.code).toBe(2);
    expect(armhf.out).toMatch(/32-bit ARM \(armhf.*is not supported.*Raspberry Pi OS 64-bit/);
    const join = await install(["--arch", "arm64", "--join", "abc"], { DESTDIR: root });
    expect(join.code).toBe(2);
    expect(join.out).toMatch(/--join: .*iotfog agent --join/);
  });
});
