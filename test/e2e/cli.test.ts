/**
 * The real `iotfog` binary, as a user runs it: help, usage errors with non-zero exits, and the long-running
 * commands starting, logging and stopping cleanly on SIGINT/SIGTERM.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import mqtt from "mqtt";
import { enrollTestNode } from "../helpers/fleet";
import { freePort, waitFor } from "../helpers/services";

const root = path.resolve(__dirname, "../..");
const bin = path.join(root, "cli/bin/iotfog.js");

beforeAll(() => {
  if (!existsSync(path.join(root, "cli/dist/main.js"))) {
    throw new Error("the CLI is not built: run `npx tsc -b` (npm test does it)");
  }
});

function run(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: "utf8", timeout: 20000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Starts a long-running command and collects its output. */
function start(args: string[], env: NodeJS.ProcessEnv = {}): { child: ChildProcess; output: () => string } {
  const child = spawn(process.execPath, [bin, ...args], {
    env: { ...process.env, IOTFOG_LOG_SILENT: "0", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (out += d.toString()));
  return { child, output: () => out };
}

function exitOf(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve(child.exitCode);
    child.once("exit", (code) => resolve(code));
  });
}

let tmp: string;
beforeEach(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), "iotfog-cli-"));
});
afterEach(() => rmSync(tmp, { recursive: true, force: true }));

describe("iotfog CLI", () => {
  it("--help lists the subcommands", () => {
    const r = run(["--help"]);
    expect(r.status).toBe(0);
    for (const cmd of ["agent", "driver", "up"]) expect(r.stdout).toMatch(new RegExp(`^  ${cmd}\\b`, "m"));
  });

  it("every subcommand has --help", () => {
    for (const cmd of ["agent", "driver", "up"]) {
      const r = run([cmd, "--help"]);
      expect(r.status).toBe(0);
      expect(r.stdout).toContain(`Usage: iotfog ${cmd}`);
    }
  });

  it("an unknown flag is a usage error naming the flag", () => {
    const r = run(["agent", "--config", "x.yaml", "--frobnicate"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("unknown option '--frobnicate'");
  });

  it("an unknown command is a usage error naming it", () => {
    const r = run(["launch-rockets"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("unknown command 'launch-rockets'");
  });

  it("a missing config file is an error naming the file", () => {
    const missing = path.join(tmp, "nope.yaml");
    for (const cmd of ["agent", "driver"]) {
      const r = run([cmd, "--config", missing]);
      expect(r.status).toBe(2);
      expect(r.stderr).toContain(`config file not found: ${missing}`);
    }
  });

  it("an invalid config names the file and every bad field", () => {
    const file = path.join(tmp, "agent.yaml");
    writeFileSync(file, 'nodeId: "has spaces"\nmqtt:\n  url: 17\nunknownKey: 1\n');
    const r = run(["agent", "--config", file]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(file);
    expect(r.stderr).toContain('field "nodeId"');
    expect(r.stderr).toContain('field "mqtt.url"');
    expect(r.stderr).toContain("unknownKey");
  });

  it("a YAML syntax error names the file and line", () => {
    const file = path.join(tmp, "driver.yaml");
    writeFileSync(file, "mqtt:\n  url: [unclosed\n");
    const r = run(["driver", "--config", file]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`${file.replace(/[.]/g, "\\.")}: line \\d+`));
  });

  it("`up` runs an embedded MQTT broker that the fleet's clients can use (not anonymous ones), and stops cleanly on SIGTERM", async () => {
    const port = await freePort();
    const cfg = path.join(tmp, "up.yaml");
    writeFileSync(
      cfg,
      `mqtt:\n  embeddedPort: ${port}\nlog:\n  format: json\nagent:\n  nodeId: cli-up-test\n  dataDir: ${tmp}/agent\n` +
        `driver:\n  security:\n    dir: ${tmp}/fleet\n`,
    );
    const proc = start(["up", "--config", cfg]);
    try {
      await waitFor(() => proc.output().includes('"message":"ready"'), {
        timeoutMs: 30000,
        what: "`iotfog up` ready",
      });
      // The fleet's security is on: the driver's credentials from the fleet directory log in, anonymous does not.
      const driver = JSON.parse(readFileSync(path.join(tmp, "fleet", "mqtt-driver.json"), "utf8")) as {
        username: string;
        password: string;
      };
      const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
        reconnectPeriod: 0,
        username: driver.username,
        password: driver.password,
      });
      await client.endAsync();
      await expect(mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0 })).rejects.toThrow(
        /Bad username or password|Not authorized/,
      );
      proc.child.kill("SIGTERM");
      expect(await exitOf(proc.child)).toBe(0);
      expect(proc.output()).toContain('"message":"stopped"');
    } finally {
      proc.child.kill("SIGKILL");
    }
  });

  it("`agent` stops cleanly on SIGINT", async () => {
    const cfg = path.join(tmp, "agent.yaml");
    writeFileSync(cfg, `nodeId: cli-agent-test\ndataDir: ${tmp}/agent\n`);
    // Enrolled first, as `iotfog agent --join` would: an agent with security on and no fleet does not start.
    await enrollTestNode("cli-agent-test", path.join(tmp, "agent", "security"));
    const proc = start(["agent", "--config", cfg]);
    try {
      await waitFor(() => proc.output().includes('"message":"ready"'), {
        timeoutMs: 30000,
        what: "agent ready",
      });
      proc.child.kill("SIGINT");
      expect(await exitOf(proc.child)).toBe(0);
      expect(proc.output()).toContain('"signal":"SIGINT"');
    } finally {
      proc.child.kill("SIGKILL");
    }
  });
});
