import http from "node:http";
import { readFileSync } from "node:fs";
import yaml from "js-yaml";
import { IotFogError, createLogger } from "@openiotfog/shared";
import { createApiApp } from "../../src/api/app";
import { ApiServer, OPENAPI_FILE } from "../../src/api/server";
import type { FleetService, LabelChange } from "../../src/api/service";
import { EventLog } from "../../src/fleet/events";
import type { DeploymentRecord, WorkloadRequest } from "../../src/fleet/types";

const TOKEN = "test-token-0123456789abcdef";
const logger = createLogger({ component: "test", silent: true });

/** An in-memory fleet behind the FleetService interface: the API is tested without agents. */
function fakeService(events: EventLog) {
  const calls: { labels: Array<[string, LabelChange]>; deploy: WorkloadRequest[] } = {
    labels: [],
    deploy: [],
  };
  const deployment: DeploymentRecord = {
    id: "hello",
    createdAt: 1,
    status: "running",
    origin: "api",
    services: [{ name: "web", image: "openiotfog/testbox:latest", replicas: 1 }],
    replicas: [],
  };
  const service: FleetService = {
    nodes: () => [{ nodeId: "pi-1", online: true, lastSeen: 1, replicas: [] }],
    node: (id) => (id === "pi-1" ? { nodeId: "pi-1", online: true, lastSeen: 1, replicas: [] } : undefined),
    setLabels: async (id, change) => {
      calls.labels.push([id, change]);
      return { ...change.set };
    },
    deployments: async () => [deployment],
    deployment: async (id) => {
      if (id !== "hello") throw new IotFogError("NOT_FOUND", `deployment "${id}" does not exist`);
      return deployment;
    },
    deploy: async (req, onProgress) => {
      calls.deploy.push(req);
      if (req.blueprint?.includes("zigbee")) {
        throw new IotFogError("PLACEMENT_FAILED", "cannot place web#0: no node satisfies: device zigbee", {
          decisions: [],
        });
      }
      onProgress?.({ phase: "placed", service: "web", replica: 0, nodeId: "pi-1" });
      onProgress?.({
        phase: "started",
        service: "web",
        replica: 0,
        nodeId: "pi-1",
        containerName: "c",
        state: "running",
      });
      return deployment;
    },
    remove: async () => deployment,
    explain: (req, opts) => ({
      name: req.name ?? "x",
      feasible: true,
      decisions: [],
      problems: [],
      ...(opts?.whatIf
        ? { scenarios: [{ name: "lose", ...opts.whatIf, feasible: true, decisions: [], problems: [] }] }
        : {}),
    }),
    whatIf: (w) => ({ whatIf: w, ok: true, affected: [], problems: [] }),
    logs: async () => [{ service: "web", replica: 0, nodeId: "pi-1", stream: "stdout", line: "hello" }],
    recentEvents: (opts) => events.recent(opts),
    subscribe: (l) => events.subscribe(l),
    usage: (since) => ({
      now: 5000,
      windowMs: 900000,
      nodes: [
        {
          nodeId: "pi-1",
          cpuCores: 4,
          memoryTotalBytes: 4e9,
          intervalMs: 1000,
          points: [
            { t: 1000, memoryUsedBytes: 1e9 },
            { t: 2000, cpuBusyCores: 0.5, memoryUsedBytes: 1.1e9 },
          ].filter((p) => p.t > since),
        },
      ],
    }),
  };
  return { service, calls };
}

let server: ApiServer;
let base: string;
let events: EventLog;
let calls: ReturnType<typeof fakeService>["calls"];

beforeAll(async () => {
  events = new EventLog();
  const fake = fakeService(events);
  calls = fake.calls;
  server = new ApiServer({
    host: "127.0.0.1",
    port: 0,
    token: TOKEN,
    service: fake.service,
    logger,
    gui: false,
  });
  await server.start();
  base = `${server.url}/api/v1`;
});
afterAll(() => server.stop());

const auth = { authorization: `Bearer ${TOKEN}` };
async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = auth) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { ...headers, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
  });
  const text = await res.text();
  let json: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- untyped JSON from the wire
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, json, headers: res.headers };
}

describe("fleet API: auth", () => {
  it("serves health and the OpenAPI document without a token", async () => {
    expect((await call("GET", "/health", undefined, {})).json).toMatchObject({ ok: true });
    const doc = await call("GET", "/openapi.yaml", undefined, {});
    expect(doc.status).toBe(200);
    expect(doc.json).toContain("openapi: 3.0.3");
  });

  it("refuses a missing, malformed or wrong token with 401 and says how to send one", async () => {
    const missing = await call("GET", "/nodes", undefined, {});
    expect(missing.status).toBe(401);
    expect(missing.headers.get("www-authenticate")).toContain("Bearer");
    expect(missing.json.error).toMatchObject({ code: "UNAUTHORIZED" });
    expect(missing.json.error.message).toContain("IOTFOG_API_TOKEN");
    expect((await call("GET", "/nodes", undefined, { authorization: `Basic ${TOKEN}` })).status).toBe(401);
    const wrong = await call("GET", "/nodes", undefined, { authorization: "Bearer nope" });
    expect(wrong.status).toBe(401);
    expect(wrong.json.error.message).toBe("invalid API token");
  });

  it("accepts the right token", async () => {
    const r = await call("GET", "/nodes");
    expect(r.status).toBe(200);
    expect(r.json.nodes[0].nodeId).toBe("pi-1");
  });
});

describe("fleet API: validation and errors", () => {
  it("names the field of every bad body", async () => {
    const none = await call("POST", "/deployments", {});
    expect(none.status).toBe(400);
    expect(none.json.error.code).toBe("BAD_REQUEST");
    expect(none.json.error.message).toContain('field "blueprint"');

    const both = await call("POST", "/deployments", { blueprint: "x", services: [{}] });
    expect(both.json.error.message).toContain("exactly one");

    const badType = await call("POST", "/deployments", { blueprint: 42 });
    expect(badType.json.error.message).toContain('field "blueprint": must be a string');

    const extra = await call("POST", "/deployments", { blueprint: "x", replicas: 3 });
    expect(extra.json.error.message).toMatch(/replicas/);

    const badName = await call("POST", "/deployments", { blueprint: "x", name: "Bad Name" });
    expect(badName.json.error.message).toContain('field "name"');

    const whatIf = await call("POST", "/placement/what-if", { lostNodes: [] });
    expect(whatIf.status).toBe(400);
    expect(whatIf.json.error.message).toContain('field "lostNodes"');

    const device = await call("POST", "/placement/what-if", { lostDevices: [{ nodeId: "pi-1" }] });
    expect(device.json.error.message).toContain('field "lostDevices[0].deviceId"');

    const labels = await call("PATCH", "/nodes/pi-1/labels", { set: { "bad key!": "x" } });
    expect(labels.status).toBe(400);
    expect(labels.json.error.message).toContain("set.bad key!");

    const emptyLabels = await call("PATCH", "/nodes/pi-1/labels", {});
    expect(emptyLabels.json.error.message).toContain('field "set"');
  });

  it("answers 400 for bad JSON and bad query parameters", async () => {
    const bad = await call("POST", "/deployments", "{not json");
    expect(bad.status).toBe(400);
    expect(bad.json.error.message).toContain("not valid JSON");
    const q = await call("GET", "/events?limit=0");
    expect(q.status).toBe(400);
    expect(q.json.error.message).toContain('field "limit"');
    const t = await call("GET", "/events?type=node.exploded");
    expect(t.json.error.message).toContain('field "type[0]"');
    const extra = await call("GET", "/events?colour=red");
    expect(extra.json.error.message).toContain("colour");
  });

  it("maps error codes to statuses: 404 unknown, 422 cannot place, 404 unknown endpoint", async () => {
    expect((await call("GET", "/deployments/nope")).status).toBe(404);
    expect((await call("GET", "/nodes/nope")).status).toBe(404);
    const unplaceable = await call("POST", "/deployments", { blueprint: "needs: zigbee" });
    expect(unplaceable.status).toBe(422);
    expect(unplaceable.json.error).toMatchObject({ code: "PLACEMENT_FAILED", details: { decisions: [] } });
    const unknown = await call("GET", "/nothing-here");
    expect(unknown.status).toBe(404);
    expect(unknown.json.error.message).toContain("GET /api/v1/nothing-here");
  });

  it("passes valid bodies through", async () => {
    const r = await call("PATCH", "/nodes/pi-1/labels", { set: { zone: "line-1" }, remove: ["old"] });
    expect(r.json).toEqual({ nodeId: "pi-1", labels: { zone: "line-1" } });
    expect(calls.labels.at(-1)).toEqual(["pi-1", { set: { zone: "line-1" }, remove: ["old"] }]);
    const ex = await call("POST", "/placement/explain", {
      blueprint: "x",
      name: "demo",
      whatIf: { lostNodes: ["pi-1"] },
    });
    expect(ex.json).toMatchObject({ name: "demo", scenarios: [{ lostNodes: ["pi-1"], lostDevices: [] }] });
  });
});

describe("fleet API: streams", () => {
  it("streams deploy progress as NDJSON and ends with the result", async () => {
    const res = await fetch(`${base}/deployments`, {
      method: "POST",
      headers: { ...auth, "content-type": "application/json", accept: "application/x-ndjson" },
      body: JSON.stringify({ blueprint: "name: hello" }),
    });
    const lines = (await res.text())
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => l.type)).toEqual(["progress", "progress", "result"]);
    expect(lines[0]).toMatchObject({ phase: "placed", nodeId: "pi-1" });
    expect(lines[2].deployment.id).toBe("hello");
  });

  it("ends an NDJSON deploy with the error and its status", async () => {
    const res = await fetch(`${base}/deployments`, {
      method: "POST",
      headers: { ...auth, "content-type": "application/json", accept: "application/x-ndjson" },
      body: JSON.stringify({ blueprint: "zigbee" }),
    });
    const last = JSON.parse((await res.text()).trim().split("\n").at(-1)!);
    expect(last).toMatchObject({ type: "error", status: 422, error: { code: "PLACEMENT_FAILED" } });
  });

  it("replays events after `since` and then streams new ones", async () => {
    const first = events.publish({ type: "node.online", nodeId: "pi-1", message: "pi-1 is online" });
    const received: Array<Record<string, unknown>> = [];
    await new Promise<void>((resolve, reject) => {
      const req = http.get(`${base}/events/stream?since=${first.id - 1}`, { headers: auth }, (res) => {
        expect(res.headers["content-type"]).toContain("text/event-stream");
        let buf = "";
        res.on("data", (chunk: Buffer) => {
          buf += chunk.toString();
          const frames = buf.split("\n\n");
          buf = frames.pop() ?? "";
          for (const frame of frames) {
            // The server says it is subscribed: what is published now must arrive live.
            if (frame === ": ready")
              events.publish({ type: "device.attached", nodeId: "pi-1", message: "attached" });
            const data = /^data: (.*)$/m.exec(frame)?.[1];
            if (data !== undefined) received.push(JSON.parse(data));
          }
          if (received.length >= 2) {
            req.destroy();
            resolve();
          }
        });
      });
      req.on("error", (e) => (received.length >= 2 ? resolve() : reject(e)));
    });
    expect(received.map((e) => e.type)).toEqual(["node.online", "device.attached"]);
    expect(received[1]?.id).toBe(first.id + 1);
  });
});

describe("fleet API: usage", () => {
  it("serves every node's recent CPU and memory, only the points after `since`, behind the token", async () => {
    expect((await call("GET", "/usage", undefined, {})).status).toBe(401);
    const all = await call("GET", "/usage");
    expect(all.status).toBe(200);
    expect(all.json.nodes[0]).toMatchObject({ nodeId: "pi-1", cpuCores: 4 });
    expect(all.json.nodes[0].points).toHaveLength(2);
    expect((await call("GET", "/usage?since=1000")).json.nodes[0].points).toEqual([
      { t: 2000, cpuBusyCores: 0.5, memoryUsedBytes: 1.1e9 },
    ]);
    const bad = await call("GET", "/usage?since=yesterday");
    expect(bad.status).toBe(400);
    expect(bad.json.error.message).toContain('field "since"');
  });
});

/** Express 5's route table, read from the application itself: `METHOD /path/{param}` under API_PREFIX. */
interface RouteLayer {
  route?: { path: string | string[]; methods: Record<string, boolean> };
  handle?: { stack?: RouteLayer[] };
}
function registeredApiRoutes(app: { router: { stack: RouteLayer[] } }): string[] {
  const routers = app.router.stack.filter((l) => l.handle?.stack !== undefined);
  // The only mounted router is the API's (app.use(API_PREFIX, api)); the GUI is static files.
  expect(routers).toHaveLength(1);
  const routes: string[] = [];
  for (const layer of routers[0]!.handle!.stack!) {
    if (layer.route === undefined) continue;
    const paths = Array.isArray(layer.route.path) ? layer.route.path : [layer.route.path];
    for (const method of Object.keys(layer.route.methods).filter((m) => m !== "_all"))
      for (const p of paths) routes.push(`${method.toUpperCase()} ${p.replace(/:(\w+)/g, "{$1}")}`);
  }
  return routes;
}

describe("OpenAPI document", () => {
  it("describes every route the express app registers, and nothing else", () => {
    const doc = yaml.load(readFileSync(OPENAPI_FILE, "utf8")) as {
      paths: Record<string, Record<string, unknown>>;
    };
    const documented = new Set<string>();
    for (const [p, ops] of Object.entries(doc.paths)) {
      for (const m of Object.keys(ops)) if (m !== "parameters") documented.add(`${m.toUpperCase()} ${p}`);
    }
    const app = createApiApp({
      service: fakeService(new EventLog()).service,
      token: TOKEN,
      logger,
      openapiFile: OPENAPI_FILE,
    }) as unknown as { router: { stack: RouteLayer[] } };
    const served = registeredApiRoutes(app);
    // The fleet security routes (security-routes.ts) are registered too, not only those in app.ts.
    expect(served).toEqual(expect.arrayContaining(["POST /fleet/enroll", "POST /nodes/{nodeId}/revoke"]));
    expect(served.length).toBeGreaterThan(15);
    expect(served.filter((r) => !documented.has(r))).toEqual([]);
    expect([...documented].filter((r) => !served.includes(r))).toEqual([]);
  });
});
