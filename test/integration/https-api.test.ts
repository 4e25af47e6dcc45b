/**
 * Transport security of the two REST APIs (issue 12, item 6): the real fleet API (buildDriver, with the GUI)
 * and the real agent REST API serve HTTPS with a certificate from a CA made by openssl; a client that trusts the
 * CA is answered (with the token, as over HTTP), plain HTTP to the TLS port and a client that does not trust
 * the CA get nothing; a non-loopback bind without TLS refuses to start, naming the field; the explicit
 * insecure option starts with a warning; the CLI reaches the HTTPS API with --ca.
 */
import { execFile } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import http from "node:http";
import https from "node:https";
import os from "node:os";
import path from "node:path";
import { createLogger, parseWith, type Logger } from "@openiotfog/shared";
import { buildDriver, driverConfigSchema } from "@openiotfog/vim-driver";
import type { Lifecycle } from "@openiotfog/shared";
import { MQTT_URL, freePort, requireDocker, requireMqtt, uniqueName } from "../helpers/services";
import { makeCa, makeServerCert, type TestCa } from "../helpers/tls";
import { REST_TOKEN, startTestAgent, type TestAgent } from "./agent-events-harness";
import { REPO } from "./agent-helpers";

interface Answer {
  status: number;
  body: string;
}

/** GET over HTTPS trusting only `ca` (none: the system's CAs). */
function httpsGet(url: string, opts: { ca?: string; token?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = https.get(
      url,
      {
        ...(opts.ca === undefined ? {} : { ca: opts.ca }),
        headers: opts.token === undefined ? {} : { authorization: `Bearer ${opts.token}` },
        agent: false,
      },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (body += c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on("error", reject);
  });
}

/** GET over plain HTTP (to a TLS port: must not be answered). */
function httpGet(url: string, token: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers: { authorization: `Bearer ${token}` }, agent: false }, (res) => {
      let body = "";
      res.on("data", (c: Buffer) => (body += c.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
  });
}

/** Runs the real `iotfog` binary; its logs stay on stderr (not silenced: the tests read start errors there). */
function iotfog(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.join(REPO, "cli/bin/iotfog.js"), ...args],
      { env: { ...process.env, IOTFOG_LOG_SILENT: "0" }, timeout: 60000 },
      (e, stdout, stderr) => resolve({ code: e === null ? 0 : (e.code as number | null), stdout, stderr }),
    );
  });
}

/** A logger whose records the test can read even when IOTFOG_LOG_SILENT=1 (CI) keeps the console quiet. */
function recordingLogger(): { logger: Logger; warnings: string[] } {
  const logger = createLogger({ component: "driver", silent: false });
  for (const t of logger.transports) t.silent = true;
  const warnings: string[] = [];
  logger.on("data", (info: { level: string; message: unknown }) => {
    if (info.level === "warn") warnings.push(String(info.message));
  });
  return { logger, warnings };
}

describe("HTTPS on the fleet API and the agent REST API", () => {
  const token = "https-test-token-0123456789";
  const prefix = uniqueName("iotfog-https");
  let dir: string;
  let ca: TestCa;
  let caPem: string;
  let otherCaPem: string;
  let server: { cert: string; key: string };
  const started: Lifecycle[] = [];

  const driverConfig = (api: Record<string, unknown>) =>
    parseWith(
      driverConfigSchema,
      {
        mqtt: { url: MQTT_URL, topicPrefix: prefix },
        fleet: { stateFile: path.join(dir, `fleet-${uniqueName("s")}.json`) },
        api: { enabled: true, token, tokenFile: path.join(dir, "api-token"), ...api },
        security: { dir: path.join(dir, "fleet-identity") },
      },
      "test driver config",
    );

  beforeAll(async () => {
    await requireMqtt();
    dir = mkdtempSync(path.join(os.tmpdir(), "iotfog-https-"));
    ca = await makeCa(dir, "fleet-ca");
    const other = await makeCa(dir, "other-ca");
    server = await makeServerCert(dir, ca, "api", ["IP:127.0.0.1", "DNS:localhost"]);
    caPem = await readFile(ca.cert, "utf8");
    otherCaPem = await readFile(other.cert, "utf8");
  });

  afterAll(async () => {
    for (const l of started.reverse()) await l.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  describe("the fleet API (driver, with the GUI)", () => {
    let url: string;

    beforeAll(async () => {
      const port = await freePort();
      const driver = buildDriver(
        driverConfig({ host: "127.0.0.1", port, tls: { cert: server.cert, key: server.key } }),
        createLogger({ component: "driver" }),
      );
      started.push(driver);
      await driver.start();
      url = `https://127.0.0.1:${port}`;
    });

    it("answers a client that trusts the CA, with the token as over HTTP", async () => {
      const nodes = await httpsGet(`${url}/api/v1/nodes`, { ca: caPem, token });
      expect(nodes.status).toBe(200);
      expect(JSON.parse(nodes.body)).toEqual({ nodes: expect.any(Array) });
      expect((await httpsGet(`${url}/api/v1/nodes`, { ca: caPem })).status).toBe(401);
      expect((await httpsGet(`${url}/api/v1/nodes`, { ca: caPem, token: "wrong-token-wrong" })).status).toBe(
        401,
      );
      const gui = await httpsGet(`${url}/`, { ca: caPem });
      expect(gui.status).toBe(200);
      expect(gui.body).toMatch(/<html/i);
    });

    it("refuses plain HTTP on the TLS port and a client that does not trust the CA", async () => {
      await expect(httpGet(`http://127.0.0.1:${new URL(url).port}/api/v1/nodes`, token)).rejects.toThrow();
      await expect(httpsGet(`${url}/api/v1/nodes`, { token })).rejects.toMatchObject({
        code: expect.stringMatching(/UNABLE_TO_VERIFY|SELF_SIGNED|UNABLE_TO_GET_ISSUER/),
      });
      await expect(httpsGet(`${url}/api/v1/nodes`, { ca: otherCaPem, token })).rejects.toMatchObject({
        code: expect.stringMatching(/UNABLE_TO_VERIFY|SELF_SIGNED|UNABLE_TO_GET_ISSUER/),
      });
    });

    it("the CLI lists the nodes with --ca, and without it says to give the CA", async () => {
      const cli = (args: string[]) => iotfog(["nodes", "--api-url", url, "--token", token, ...args]);
      const ok = await cli(["--ca", ca.cert, "-o", "json"]);
      expect(ok.stderr).toBe("");
      expect(ok.code).toBe(0);
      expect(JSON.parse(ok.stdout)).toEqual(expect.any(Array));
      const untrusted = await cli(["-o", "json"]);
      expect(untrusted.code).not.toBe(0);
      expect(untrusted.stderr).toContain("give the CA that signed it with --ca or IOTFOG_API_CA");
    });

    it("`iotfog driver` refuses to start on a non-loopback address without TLS, naming the field", async () => {
      const file = path.join(dir, "driver-open.yaml");
      writeFileSync(file, `mqtt: { url: "${MQTT_URL}" }\napi: { enabled: true, host: 0.0.0.0 }\n`);
      const run = await iotfog(["driver", "--config", file]);
      expect(run.code).not.toBe(0);
      expect(run.stderr).toContain(
        `field "api.tls": bound to 0.0.0.0, which is not loopback, so it must serve HTTPS`,
      );
    });

    it("starts on a non-loopback address with insecurePlainHttp, with a warning naming the option", async () => {
      const { logger, warnings } = recordingLogger();
      const port = await freePort();
      const driver = buildDriver(driverConfig({ host: "0.0.0.0", port, insecurePlainHttp: true }), logger);
      started.push(driver);
      await driver.start();
      expect(warnings).toContainEqual(expect.stringMatching(/^INSECURE: .*api\.insecurePlainHttp: true/));
      expect((await httpGet(`http://127.0.0.1:${port}/api/v1/nodes`, token)).status).toBe(200);
    });

    it("refuses a key file that group or other users may read, naming the field", async () => {
      chmodSync(server.key, 0o640);
      try {
        const driver = buildDriver(
          driverConfig({
            host: "127.0.0.1",
            port: await freePort(),
            tls: { cert: server.cert, key: server.key },
          }),
          createLogger({ component: "driver" }),
        );
        await expect(driver.start()).rejects.toMatchObject({
          code: "CONFIG_INVALID",
          message: expect.stringMatching(/^api\.tls\.key: secret file .* has mode 0640/),
        });
        await driver.stop();
      } finally {
        chmodSync(server.key, 0o600);
      }
    });
  });

  describe("the agent REST API", () => {
    let agent: TestAgent | undefined;

    beforeAll(async () => {
      await requireDocker();
    });

    afterAll(async () => {
      await agent?.stop();
    });

    it("serves HTTPS: the CA-trusting client is answered, plain HTTP and an untrusting client are not", async () => {
      agent = await startTestAgent({
        prefix,
        name: "https",
        rest: { tls: { cert: server.cert, key: server.key } },
      });
      const url = agent.agent.ops.restUrl()!;
      expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      const status = await httpsGet(`${url}/api/v1/status`, { ca: caPem, token: REST_TOKEN });
      expect(status.status).toBe(200);
      const body = JSON.parse(status.body) as { nodeId: string; endpoints: { rest?: string } };
      expect(body.nodeId).toBe(agent.nodeId);
      // What presence advertises is the https URL.
      expect(body.endpoints.rest).toBe(url);
      expect((await httpsGet(`${url}/api/v1/status`, { ca: caPem })).status).toBe(401);
      await expect(httpGet(url.replace(/^https:/, "http:") + "/api/v1/status", REST_TOKEN)).rejects.toThrow();
      await expect(
        httpsGet(`${url}/api/v1/status`, { ca: otherCaPem, token: REST_TOKEN }),
      ).rejects.toMatchObject({
        code: expect.stringMatching(/UNABLE_TO_VERIFY|SELF_SIGNED|UNABLE_TO_GET_ISSUER/),
      });
    });

    it("`iotfog agent` refuses to start on a non-loopback address without TLS, naming the field", async () => {
      const file = path.join(dir, "agent-open.yaml");
      writeFileSync(
        file,
        `nodeId: ${uniqueName("https-open")}\nmqtt: { url: "${MQTT_URL}", topicPrefix: ${prefix} }\n` +
          `rest: { host: 10.0.0.7 }\n`,
      );
      const run = await iotfog(["agent", "--config", file]);
      expect(run.code).not.toBe(0);
      expect(run.stderr).toContain(
        `field "rest.tls": bound to 10.0.0.7, which is not loopback, so it must serve HTTPS`,
      );
    });
  });
});
