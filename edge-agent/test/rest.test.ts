import { IotFogError, createLogger, type NodeCapabilities } from "@openiotfog/shared";
import { node } from "../../shared/test/fixtures";
import { EventBus } from "../src/monitoring/bus";
import { createRestApp } from "../src/rest/app";
import type { RestBackend, RestDeployBody } from "../src/rest/schemas";
import { RestServer } from "../src/rest/server";

const logger = createLogger({ component: "test", silent: true });
const TOKEN = "s3cret-token-for-tests";

/** A backend over plain memory: the HTTP layer (auth, validation, SSE) is what these tests exercise. */
function memoryBackend(bus: EventBus): RestBackend & { deployed: RestDeployBody[] } {
  const deployed: RestDeployBody[] = [];
  const caps: NodeCapabilities = node("n1").capabilities;
  return {
    nodeId: "n1",
    deployed,
    status: async () => ({ nodeId: "n1", deployments: deployed.length }),
    readiness: async () => ({ ready: true, checks: { mqtt: { ok: true } } }),
    capabilities: async () => caps,
    containers: async () => [],
    deployments: async () =>
      deployed.map((d) => ({
        deploymentId: d.deploymentId ?? "x",
        service: "svc",
        state: "running",
        health: "ok",
      })),
    deploy: async (body) => {
      if (body.deploymentId === "refuse-me") throw new IotFogError("ADMISSION_REFUSED", "no zigbee here");
      deployed.push(body);
      bus.emit({ type: "container.started", message: "started", deploymentId: body.deploymentId });
      return [
        {
          deploymentId: body.deploymentId ?? "x",
          service: "svc",
          replica: 0,
          nodeId: "n1",
          forwarded: false,
          route: ["n1"],
          created: true,
          state: "running",
        },
      ];
    },
    remove: async (deploymentId) => ({ deploymentId, removed: true }),
    events: bus,
  };
}

async function startServer(openReads: boolean) {
  const bus = new EventBus({ nodeId: "n1", logger });
  const backend = memoryBackend(bus);
  const rest = createRestApp({ backend, token: TOKEN, openReads, logger, bodyLimitBytes: 4096 });
  const server = new RestServer(() => rest, "127.0.0.1", 0, logger);
  await server.start();
  return { bus, backend, server, url: server.url };
}

/** The error body every refusal carries. */
async function errorOf(res: Response): Promise<{ code: string; message: string }> {
  return ((await res.json()) as { error: { code: string; message: string } }).error;
}

const auth = { authorization: `Bearer ${TOKEN}` };
const json = { ...auth, "content-type": "application/json" };

describe("REST API", () => {
  let ctx: Awaited<ReturnType<typeof startServer>>;
  beforeAll(async () => {
    ctx = await startServer(false);
  });
  afterAll(async () => {
    await ctx.server.stop();
  });

  it("answers probes without a token and refuses the API without or with a wrong token", async () => {
    expect((await fetch(`${ctx.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${ctx.url}/readyz`)).status).toBe(200);
    const none = await fetch(`${ctx.url}/api/v1/status`);
    expect(none.status).toBe(401);
    expect(none.headers.get("www-authenticate")).toContain("Bearer");
    expect((await errorOf(none)).code).toBe("UNAUTHORIZED");
    const wrong = await fetch(`${ctx.url}/api/v1/status`, { headers: { authorization: "Bearer nope" } });
    expect(wrong.status).toBe(401);
    const basic = await fetch(`${ctx.url}/api/v1/status`, { headers: { authorization: "Basic eDp5" } });
    expect(basic.status).toBe(401);
    const ok = await fetch(`${ctx.url}/api/v1/status`, { headers: auth });
    expect(await ok.json()).toEqual({ nodeId: "n1", deployments: 0 });
  });

  it("rejects bad bodies with 4xx errors that name the field", async () => {
    const post = (body: string) =>
      fetch(`${ctx.url}/api/v1/deployments`, { method: "POST", headers: json, body });
    const badName = await post(JSON.stringify({ service: { name: "Bad Name", image: "x" } }));
    expect(badName.status).toBe(400);
    const err = await errorOf(badName);
    expect(err.code).toBe("VALIDATION_FAILED");
    expect(err.message).toContain('field "service.name"');
    const both = await errorOf(
      await post(JSON.stringify({ blueprint: "a: 1", service: { name: "a", image: "b" } })),
    );
    expect(both.message).toContain('field "blueprint"');
    const extra = await errorOf(await post(JSON.stringify({ service: { name: "a", image: "b" }, hops: 3 })));
    expect(extra.message).toContain("hops");
    const notJson = await post("{ nope");
    expect(notJson.status).toBe(400);
    expect((await errorOf(notJson)).message).toContain("not valid JSON");
    expect((await post(JSON.stringify({ blueprint: "x".repeat(5000) }))).status).toBe(413);
    const badQuery = await fetch(`${ctx.url}/api/v1/events?limit=0&types=container.started,bogus`, {
      headers: auth,
    });
    expect(badQuery.status).toBe(400);
    const q = (await errorOf(badQuery)).message;
    expect(q).toContain('field "limit"');
    expect(q).toContain('"bogus" is not an event type');
    const badId = await fetch(`${ctx.url}/api/v1/deployments/-x`, { method: "DELETE", headers: auth });
    expect(badId.status).toBe(400);
    const refused = await post(
      JSON.stringify({ deploymentId: "refuse-me", service: { name: "a", image: "b" } }),
    );
    expect(refused.status).toBe(422);
    expect((await fetch(`${ctx.url}/api/v1/nowhere`, { headers: auth })).status).toBe(404);
    expect(ctx.backend.deployed).toHaveLength(0);
  });

  it("deploys a valid body and streams events over SSE, resuming after Last-Event-ID", async () => {
    const abort = new AbortController();
    const stream = await fetch(`${ctx.url}/api/v1/events/stream?types=container.`, {
      headers: auth,
      signal: abort.signal,
    });
    expect(stream.headers.get("content-type")).toContain("text/event-stream");
    const reader = stream.body!.getReader();
    const decoder = new TextDecoder();
    let text = "";
    const readUntil = async (needle: string): Promise<void> => {
      while (!text.includes(needle)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`stream ended before ${needle}`);
        text += decoder.decode(value);
      }
    };
    await readUntil(": connected");
    ctx.bus.emit({ type: "peer.appeared", message: "filtered out", peerId: "n9" });
    const res = await fetch(`${ctx.url}/api/v1/deployments`, {
      method: "POST",
      headers: json,
      body: JSON.stringify({
        deploymentId: "dep-1",
        service: { name: "svc", image: "openiotfog/testbox:latest" },
      }),
    });
    expect(res.status).toBe(201);
    expect(((await res.json()) as { deployments: unknown[] }).deployments[0]).toMatchObject({
      deploymentId: "dep-1",
      nodeId: "n1",
    });
    await readUntil("\n\n" + "id: ");
    await readUntil("event: container.started");
    await readUntil("}\n\n");
    abort.abort();
    expect(text).not.toContain("peer.appeared");
    const data = /data: (.*)\n/.exec(text)![1]!;
    const event = JSON.parse(data);
    expect(event).toMatchObject({ type: "container.started", deploymentId: "dep-1", nodeId: "n1" });

    // Resume: only what came after the given id is replayed.
    ctx.bus.emit({ type: "container.died", message: "died", deploymentId: "dep-1" });
    const resumed = await fetch(`${ctx.url}/api/v1/events/stream?access_token=${TOKEN}`, {
      headers: { "last-event-id": String(event.seq) },
      signal: AbortSignal.timeout(5000),
    });
    const r2 = resumed.body!.getReader();
    let replay = "";
    while (!replay.includes("event: container.died")) replay += decoder.decode((await r2.read()).value);
    expect(replay).not.toContain("container.started");
    await r2.cancel();
  });
});

describe("REST API with open reads", () => {
  it("serves GETs without a token and still guards writes", async () => {
    const ctx = await startServer(true);
    try {
      expect((await fetch(`${ctx.url}/api/v1/capabilities`)).status).toBe(200);
      expect((await fetch(`${ctx.url}/api/v1/deployments/dep-9`)).status).toBe(404);
      const write = await fetch(`${ctx.url}/api/v1/deployments/dep-9`, { method: "DELETE" });
      expect(write.status).toBe(401);
    } finally {
      await ctx.server.stop();
    }
  });
});
