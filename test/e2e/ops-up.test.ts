/**
 * `iotfog up` as `npm start` runs it: embedded broker, driver side with the fleet API, one local agent, and a
 * blueprint deployed through the fleet API once the agent has joined; it prints where the replica landed and
 * how to see it (GUI URL with the token, `iotfog ps`), and `iotfog ps` shows it from another process.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { freePort, removeContainersByLabel, requireDocker, uniqueName, waitFor } from "../helpers/services";
import { BIN, blueprint, iotfog } from "./ops-stack";

let dir: string;
let up: ChildProcess | undefined;
let nodeId: string;
let stdout = "";
let stderr = "";

beforeAll(async () => {
  await requireDocker();
  dir = mkdtempSync(path.join(os.tmpdir(), "iotfog-ops-up-"));
  nodeId = uniqueName("ops-up");
  const config = {
    mqtt: { embeddedHost: "127.0.0.1", embeddedPort: await freePort() },
    log: { level: "warn", format: "pretty" },
    agent: {
      nodeId,
      dataDir: path.join(dir, "agent"),
      labels: { zone: "demo" },
      zmq: { bind: `tcp://127.0.0.1:${await freePort()}` },
      runtime: { pullMissingImages: false },
    },
    driver: {
      api: { port: await freePort(), tokenFile: path.join(dir, "api-token") },
      security: { dir: path.join(dir, "fleet") },
    },
  };
  writeFileSync(path.join(dir, "up.json"), JSON.stringify(config));
  writeFileSync(path.join(dir, "demo.yaml"), blueprint({ name: "up-demo" }));
});

afterAll(async () => {
  if (up && up.exitCode === null) {
    up.kill("SIGKILL");
    await new Promise((r) => up?.once("exit", r));
  }
  await removeContainersByLabel("org.openiotfog.node", nodeId);
  rmSync(dir, { recursive: true, force: true });
});

describe("iotfog up with an example deployment", () => {
  it("deploys the blueprint through the fleet API, says where it runs and how to see it, and stops on SIGINT", async () => {
    up = spawn(
      process.execPath,
      [BIN, "up", "--config", path.join(dir, "up.json"), "--deploy", path.join(dir, "demo.yaml")],
      {
        env: { ...process.env, IOTFOG_LOG_SILENT: "0" },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    up.stdout?.on("data", (d: Buffer) => (stdout += d.toString()));
    up.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
    await waitFor(() => stdout.includes("OpenIoTFog is up."), {
      timeoutMs: 60000,
      intervalMs: 100,
      what: "the summary of iotfog up",
    }).catch((e: Error) => {
      throw new Error(`${e.message}\n--- stdout ---\n${stdout}\n--- stderr ---\n${stderr}`);
    });
    expect(stdout).toMatch(
      new RegExp(`deployed: {3}up-demo: up-demo#0 on node ${nodeId} \\(running, container \\S+\\)`),
    );
    const gui = /web GUI: {4}(http:\/\/127\.0\.0\.1:\d+)\/#token=(\S+)/.exec(stdout);
    expect(gui).not.toBeNull();
    const [, apiUrl, token] = gui as RegExpExecArray;
    expect(token).toBe(readFileSync(path.join(dir, "api-token"), "utf8").trim());
    expect(stdout).toContain("npx iotfog ps");

    const ps = iotfog(["ps", "--api-url", apiUrl as string, "--token-file", path.join(dir, "api-token")], {});
    expect(ps.status).toBe(0);
    expect(ps.stdout).toMatch(new RegExp(`^up-demo\\s+up-demo#0\\s+${nodeId}\\s+running`, "m"));
    const page = await fetch(`${apiUrl}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("<title>OpenIoTFog fleet</title>");

    up.kill("SIGINT");
    const code = await new Promise<number | null>((resolve) => up?.once("exit", (c) => resolve(c)));
    expect(code).toBe(0);
  });
});
