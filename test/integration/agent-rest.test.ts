/**
 * The agent's local REST API on a real agent (real Docker, real Mosquitto): token auth, validation errors that
 * name the field, a blueprint deploy whose container events arrive on the SSE stream, and remove.
 */
import { TEST_IMAGE, requireDocker, requireMqtt, uniqueName } from "../helpers/services";
import { REST_TOKEN, startTestAgent, type TestAgent } from "./agent-events-harness";

describe("agent REST API", () => {
  const prefix = uniqueName("iotfog-rest");
  let a: TestAgent;
  let url: string;
  const auth = { authorization: `Bearer ${REST_TOKEN}` };

  beforeAll(async () => {
    await requireMqtt();
    await requireDocker();
    a = await startTestAgent({ prefix, name: "rest" });
    url = a.agent.ops.restUrl()!;
  });

  afterAll(async () => {
    await a?.stop();
  });

  const blueprint = (image: string) => `tosca_definitions_version: openiotfog_blueprint_1_0
metadata: { name: rest-demo }
topology_template:
  node_templates:
    web:
      type: openiotfog.nodes.Container
      properties:
        image: "${image}"
        command: [httpd, -f, -p, "8080"]
        resources: { memory: 32MiB }
`;

  it("needs the bearer token and names the field of a bad body", async () => {
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    expect((await fetch(`${url}/api/v1/deployments`)).status).toBe(401);
    expect(
      (await fetch(`${url}/api/v1/deployments`, { headers: { authorization: "Bearer wrong-token" } })).status,
    ).toBe(401);
    const status = (await (await fetch(`${url}/api/v1/status`, { headers: auth })).json()) as {
      nodeId: string;
      endpoints: Record<string, string>;
    };
    expect(status.nodeId).toBe(a.nodeId);
    expect(Object.keys(status.endpoints).sort()).toEqual(["commands", "events", "hardwareEvents", "rest"]);

    const bad = await fetch(`${url}/api/v1/deployments`, {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify({ blueprint: blueprint(""), forward: "yes" }),
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toContain('field "forward"');
    const badBlueprint = await fetch(`${url}/api/v1/deployments`, {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify({ blueprint: blueprint("") }),
    });
    expect(badBlueprint.status).toBe(400);
    const message = ((await badBlueprint.json()) as { error: { message: string } }).error.message;
    expect(message).toMatch(
      /request body field blueprint:\d+: field "topology_template\.node_templates\.web\.properties\.image"/,
    );
  });

  it("deploys a blueprint, streams its container events over SSE and removes it", async () => {
    const abort = new AbortController();
    const stream = await fetch(`${url}/api/v1/events/stream?types=container.`, {
      headers: auth,
      signal: abort.signal,
    });
    const reader = stream.body!.getReader();
    const decoder = new TextDecoder();
    let text = "";
    const readUntil = async (needle: RegExp): Promise<void> => {
      while (!needle.test(text)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`stream ended before ${String(needle)}`);
        text += decoder.decode(value);
      }
    };
    await readUntil(/: connected/);

    const deploymentId = uniqueName("demo");
    const res = await fetch(`${url}/api/v1/deployments`, {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify({ blueprint: blueprint(TEST_IMAGE), deploymentId }),
    });
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({
      deployments: [{ deploymentId, service: "web", nodeId: a.nodeId, forwarded: false, state: "running" }],
    });
    await readUntil(new RegExp(`event: container\\.started\\ndata: [^\\n]*"deploymentId":"${deploymentId}"`));
    abort.abort();

    const list = (await (await fetch(`${url}/api/v1/deployments`, { headers: auth })).json()) as {
      deployments: Array<{ deploymentId: string; health: string }>;
    };
    expect(list.deployments).toEqual([expect.objectContaining({ deploymentId, health: "ok" })]);
    const removed = await fetch(`${url}/api/v1/deployments/${deploymentId}?timeoutSeconds=0`, {
      method: "DELETE",
      headers: auth,
    });
    expect(await removed.json()).toEqual({ deploymentId, removed: true });
    const events = (await (
      await fetch(`${url}/api/v1/events?types=container.&deploymentId=${deploymentId}`, { headers: auth })
    ).json()) as {
      events: Array<{ type: string }>;
    };
    expect(events.events.map((e) => e.type)).toEqual(
      expect.arrayContaining(["container.created", "container.started"]),
    );
  });
});
