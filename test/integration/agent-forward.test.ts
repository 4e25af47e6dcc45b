/**
 * Node-to-node orchestration with two real agents (distinct node ids and labels, one Docker engine, real
 * Mosquitto): a deploy sent to A that only B can satisfy lands on B, and A's reply says so.
 */
import { AgentClient, parseBlueprint } from "@openiotfog/shared";
import { TEST_IMAGE, docker, requireDocker, requireMqtt, uniqueName, waitFor } from "../helpers/services";
import { REST_TOKEN, startTestAgent, type TestAgent } from "./agent-events-harness";

describe("agent forwarding", () => {
  const prefix = uniqueName("iotfog-fwd");
  let a: TestAgent;
  let b: TestAgent;
  let client: AgentClient;

  beforeAll(async () => {
    await requireMqtt();
    await requireDocker();
    [a, b] = await Promise.all([
      startTestAgent({ prefix, name: "fwd-a", labels: { line: "line-a" } }),
      startTestAgent({ prefix, name: "fwd-b", labels: { line: "line-b" } }),
    ]);
    client = new AgentClient({
      endpoint: a.agent.endpoint.advertise,
      timeoutMs: 20000,
      retries: 0,
      curve: a.curve,
    });
    await waitFor(() => a.agent.presence.peers.get(b.nodeId)?.capabilities, {
      what: "A to know B's capabilities",
    });
  });

  afterAll(async () => {
    await client?.close();
    await Promise.all([a?.stop(), b?.stop()]);
  });

  const onLine = (name: string, line = "line-b") =>
    parseBlueprint(`
tosca_definitions_version: openiotfog_blueprint_1_0
metadata: { name: ${name} }
topology_template:
  node_templates:
    ${name}:
      type: openiotfog.nodes.Container
      properties:
        image: ${TEST_IMAGE}
        command: [sleep, "300"]
      placement:
        constraints:
          - node.labels.line == ${line}
`).services[0]!;

  it("forwards a deploy only B can run and says where it landed", async () => {
    const spec = onLine("line-b-svc");
    await expect(client.call("deploy", { deploymentId: uniqueName("local"), spec })).rejects.toMatchObject({
      code: "ADMISSION_REFUSED",
      message: expect.stringContaining("node.labels.line"),
    });

    const deploymentId = uniqueName("fwd");
    const result = await client.call("deploy", { deploymentId, spec, forward: { allowed: true } });
    expect(result.deployment.nodeId).toBe(b.nodeId);
    expect(result.route).toEqual([a.nodeId, b.nodeId]);
    const [container] = await docker().listContainers({
      filters: { label: [`org.openiotfog.deployment=${deploymentId}`] },
    });
    expect(container?.Labels["org.openiotfog.node"]).toBe(b.nodeId);
    expect(a.agent.ops.bus.history({ types: ["deploy.forwarded"] })[0]).toMatchObject({
      deploymentId,
      peerId: b.nodeId,
    });

    // A retry of the same request gets the first reply and starts nothing (B's deploy is idempotent by id).
    const again = await client.call("deploy", { deploymentId, spec, forward: { allowed: true } });
    expect(again.deployment).toMatchObject({ nodeId: b.nodeId, containerId: container?.Id });
    const all = await docker().listContainers({
      all: true,
      filters: { label: [`org.openiotfog.deployment=${deploymentId}`] },
    });
    expect(all).toHaveLength(1);
  });

  it("forwards REST deploys too and refuses with both reasons when no peer fits", async () => {
    const post = (body: unknown) =>
      fetch(`${a.agent.ops.restUrl()!}/api/v1/deployments`, {
        method: "POST",
        headers: { authorization: `Bearer ${REST_TOKEN}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    const res = await post({ service: onLine("rest-b-svc"), forward: true });
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({
      deployments: [{ nodeId: b.nodeId, forwarded: true, route: [a.nodeId, b.nodeId] }],
    });
    const refused = await post({ service: onLine("nowhere-svc", "line-z"), forward: true });
    expect(refused.status).toBe(422);
    const err = ((await refused.json()) as { error: { message: string } }).error;
    expect(err.message).toMatch(/refuses.*forwarding: no peer can run it either/);
  });
});
