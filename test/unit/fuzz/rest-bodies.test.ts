/**
 * Fuzz of the two REST boundaries, over real HTTP on loopback: the agent's local API and the fleet API, each an
 * express app behind a node http server. Requests are generated from every route (bodies mutated from valid ones,
 * raw text, wrong content types, broken or missing tokens, odd path segments and query strings). Every response
 * is JSON; every refusal has `{ error: { code, message } }` and a 4xx status; nothing answers 500. The backends
 * are stand-ins that refuse every valid call (503), so the fuzz stays in-process.
 */
import fc from "fast-check";
import { IotFogError, createLogger } from "@openiotfog/shared";
import { createRestApp } from "@openiotfog/edge-agent/rest/app";
import type { RestBackend } from "@openiotfog/edge-agent/rest/schemas";
import { EventBus } from "@openiotfog/edge-agent/monitoring/bus";
import { createApiApp } from "@openiotfog/vim-driver/api/app";
import { OPENAPI_FILE } from "@openiotfog/vim-driver/api/server";
import type { FleetService } from "@openiotfog/vim-driver/api/service";
import { serve, segment, type FuzzRequest } from "./http";
import {
  FUZZ_RUNS,
  FUZZ_TIMEOUT_MS,
  fuzzParams,
  inputsLike,
  nastyString,
  watchUnhandledRejections,
} from "./support";

const logger = createLogger({ component: "fuzz", silent: true });
const TOKEN = "fuzz-token-0123456789abcdef";
/** Requests sent together per property run. */
const BATCH = 10;

const refuse = async (): Promise<never> => {
  throw new IotFogError("UNAVAILABLE", "stand-in backend");
};

const service = {
  name: "svc-a",
  image: "busybox:latest",
  env: { A: "1" },
  ports: [{ container: 80, host: 8080 }],
  constraints: ["node.labels.zone == a"],
};
const blueprintYaml = [
  "tosca_definitions_version: openiotfog_blueprint_1_0",
  "topology_template:",
  "  node_templates:",
  "    svc-a:",
  "      type: openiotfog.nodes.Container",
  "      properties: { image: busybox:latest }",
].join("\n");

/** Headers: mostly the right token, sometimes a wrong, malformed or missing one. */
const auth: fc.Arbitrary<Record<string, string>> = fc.oneof(
  { weight: 8, arbitrary: fc.constant<Record<string, string>>({ authorization: `Bearer ${TOKEN}` }) },
  {
    weight: 2,
    arbitrary: fc
      .constantFrom("", "Bearer", `Bearer ${TOKEN}x`, `Basic ${TOKEN}`, "Bearer a b", `bearer   ${TOKEN}  `)
      .map((h): Record<string, string> => (h === "" ? {} : { authorization: h })),
  },
);

/** A body: a mutated valid one as JSON (with a JSON content type, usually), raw text, or nothing. */
function bodyLike(...samples: unknown[]): fc.Arbitrary<{ body?: string; headers: Record<string, string> }> {
  return fc.oneof(
    {
      weight: 8,
      arbitrary: fc
        .tuple(
          inputsLike(...samples),
          fc.constantFrom("application/json", "application/json; charset=utf-8", "text/plain"),
        )
        .map(([v, type]) => ({ body: JSON.stringify(v) ?? "", headers: { "content-type": type } })),
    },
    {
      weight: 1,
      arbitrary: nastyString.map((s) => ({ body: s, headers: { "content-type": "application/json" } })),
    },
    { weight: 1, arbitrary: fc.constant({ headers: {} }) },
  );
}

const query = fc
  .dictionary(
    fc.constantFrom(
      "after",
      "types",
      "limit",
      "deploymentId",
      "timeoutSeconds",
      "since",
      "type",
      "node",
      "tail",
      "x",
    ),
    nastyString,
    { maxKeys: 3 },
  )
  .map((q) => (Object.keys(q).length === 0 ? "" : `?${new URLSearchParams(q).toString()}`));

function request(
  method: fc.Arbitrary<string>,
  path: fc.Arbitrary<string>,
  body: fc.Arbitrary<{ body?: string; headers: Record<string, string> }> = fc.constant({ headers: {} }),
): fc.Arbitrary<FuzzRequest> {
  return fc.tuple(method, path, query, auth, body).map(([m, p, q, a, b]) => ({
    method: m,
    path: `${p}${q}`,
    headers: { ...a, ...b.headers },
    ...(b.body === undefined ? {} : { body: b.body }),
  }));
}

const id = fc.oneof(fc.constantFrom("svc-a-0", "x"), nastyString).map(segment);

/** Checks one response: JSON (HEAD: headers only), never a 500, an error body for every refusal. */
function checkResponse(method: string, status: number, contentType: string, text: string): void {
  expect(status).not.toBe(500);
  expect(contentType).toMatch(/json/);
  if (method === "HEAD") return;
  const body = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
  if (status >= 400) {
    expect(typeof body.error?.code).toBe("string");
    expect(typeof body.error?.message).toBe("string");
  }
}

async function fuzzHttp(
  app: Parameters<typeof serve>[0],
  requests: fc.Arbitrary<FuzzRequest>,
): Promise<Map<number, number>> {
  const server = await serve(app);
  const watch = watchUnhandledRejections();
  const statuses = new Map<number, number>();
  try {
    // Ten requests at a time over several connections: the same 10,000 inputs at a fraction of the round trips.
    await fc.assert(
      fc.asyncProperty(fc.array(requests, { minLength: BATCH, maxLength: BATCH }), async (batch) => {
        const responses = await Promise.all(batch.map((r) => server.send(r)));
        batch.forEach((r, i) => {
          const res = responses[i]!;
          checkResponse(r.method, res.status, res.contentType, res.text);
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        });
      }),
      fuzzParams(FUZZ_RUNS / BATCH),
    );
  } finally {
    watch.stop();
    await server.close();
  }
  expect(watch.rejections).toEqual([]);
  return statuses;
}

describe("fuzz: REST bodies", () => {
  it(
    `agent REST API: ${FUZZ_RUNS} generated requests over HTTP, each a JSON answer, no 500`,
    async () => {
      const backend: RestBackend = {
        nodeId: "n1",
        status: refuse,
        readiness: refuse,
        capabilities: refuse,
        containers: refuse,
        deployments: refuse,
        deploy: refuse,
        remove: refuse,
        events: new EventBus({ nodeId: "n1", logger }),
      };
      const { app } = createRestApp({
        backend,
        token: TOKEN,
        openReads: false,
        logger,
        bodyLimitBytes: 64 * 1024,
      });
      const requests = fc.oneof(
        request(
          fc.constantFrom("GET", "HEAD"),
          fc.constantFrom(
            "/api/v1/status",
            "/api/v1/capabilities",
            "/api/v1/containers",
            "/api/v1/deployments",
            "/api/v1/events",
          ),
        ),
        request(
          fc.constantFrom("GET", "DELETE"),
          id.map((i) => `/api/v1/deployments/${i}`),
        ),
        {
          weight: 4,
          arbitrary: request(
            fc.constantFrom("POST", "PUT"),
            fc.constant("/api/v1/deployments"),
            bodyLike(
              { deploymentId: "svc-a", service, forward: true, hopLimit: 2, start: false },
              { blueprint: blueprintYaml },
              { blueprint: { tosca_definitions_version: "openiotfog_blueprint_1_0" }, forward: false },
            ),
          ),
        },
        request(
          fc.constantFrom("GET", "POST", "PATCH"),
          nastyString.map((s) => `/${segment(s)}`),
        ),
      );
      const statuses = await fuzzHttp(app, requests);
      // Both kinds of answers occur: refusals (400, 401, 404) and valid calls reaching the backend (503).
      expect(statuses.get(400) ?? 0).toBeGreaterThan(FUZZ_RUNS / 10);
      expect(statuses.get(401) ?? 0).toBeGreaterThan(0);
      expect(statuses.get(503) ?? 0).toBeGreaterThan(0);
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    `fleet REST API: ${FUZZ_RUNS} generated requests over HTTP, each a JSON answer, no 500`,
    async () => {
      const fleet = new Proxy({} as FleetService, {
        get: () => () => {
          throw new IotFogError("UNAVAILABLE", "stand-in fleet");
        },
      });
      const app = createApiApp({ service: fleet, token: TOKEN, logger, openapiFile: OPENAPI_FILE });
      const workloads = [{ blueprint: blueprintYaml, name: "demo" }, { services: [service] }];
      const requests = fc.oneof(
        request(
          fc.constantFrom("GET"),
          fc.constantFrom("/api/v1/nodes", "/api/v1/deployments", "/api/v1/events", "/api/v1/health"),
        ),
        request(
          fc.constantFrom("GET", "DELETE"),
          id.map((i) => `/api/v1/deployments/${i}`),
        ),
        request(
          fc.constant("GET"),
          id.map((i) => `/api/v1/deployments/${i}/logs`),
        ),
        request(
          fc.constant("GET"),
          id.map((i) => `/api/v1/nodes/${i}`),
        ),
        {
          weight: 2,
          arbitrary: request(
            fc.constantFrom("PATCH"),
            id.map((i) => `/api/v1/nodes/${i}/labels`),
            bodyLike({ set: { zone: "a", "example.com/line": "1" }, remove: ["old"] }),
          ),
        },
        {
          weight: 3,
          arbitrary: request(fc.constant("POST"), fc.constant("/api/v1/deployments"), bodyLike(...workloads)),
        },
        {
          weight: 2,
          arbitrary: request(
            fc.constant("POST"),
            fc.constant("/api/v1/placement/explain"),
            bodyLike(...workloads.map((w) => ({ ...w, nMinusOne: true, whatIf: { lostNodes: ["n1"] } }))),
          ),
        },
        {
          weight: 2,
          arbitrary: request(
            fc.constant("POST"),
            fc.constant("/api/v1/placement/what-if"),
            bodyLike({ lostNodes: ["n1"], lostDevices: [{ nodeId: "n1", deviceId: "zb-1" }] }),
          ),
        },
        request(
          fc.constantFrom("GET", "POST"),
          nastyString.map((s) => `/api/v1/${segment(s)}`),
        ),
      );
      const statuses = await fuzzHttp(app, requests);
      expect(statuses.get(400) ?? 0).toBeGreaterThan(FUZZ_RUNS / 10);
      expect(statuses.get(401) ?? 0).toBeGreaterThan(0);
      expect(statuses.get(503) ?? 0).toBeGreaterThan(0);
    },
    FUZZ_TIMEOUT_MS,
  );
});
