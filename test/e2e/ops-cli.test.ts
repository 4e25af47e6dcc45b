/**
 * The operator commands as a user runs them: the real `iotfog` binary against a running stack (driver side with
 * the fleet API, two agents on real Mosquitto and two real Docker engines). Covers the node table and
 * inspection, explain with every failed predicate per node and a what-if, deploy with its progress (placement,
 * an image copied from the other node with a progress bar, container start), ps, logs (-f), events (-f), rm,
 * JSON output, and the exit codes of mistakes.
 */
import { type ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { waitFor } from "../helpers/services";
import { blueprint, iotfog, iotfogFollow, startOpsStack, tagOnlyOnA, type OpsStack } from "./ops-stack";

let stack: OpsStack;
let copied: Awaited<ReturnType<typeof tagOnlyOnA>>;
const followers: ChildProcess[] = [];
let feed: ReturnType<typeof iotfogFollow> | undefined;

beforeAll(async () => {
  stack = await startOpsStack("ops-cli");
  copied = await tagOnlyOnA();
});

afterAll(async () => {
  for (const f of followers) f.kill("SIGKILL");
  await stack?.stop();
  await copied?.remove();
});

function file(name: string, text: string): string {
  const p = path.join(stack.dir, name);
  writeFileSync(p, text);
  return p;
}

function exitOf(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once("exit", (code) => resolve(code)));
}

describe("iotfog operator commands against a running stack", () => {
  it("nodes lists both agents with arch, status, free resources and labels; node inspect shows one", () => {
    const r = iotfog(["nodes"], stack.env);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split("\n");
    expect(lines[0]).toMatch(
      /^ID\s+ARCH\s+STATUS\s+CPU FREE\s+MEMORY FREE\s+DISK FREE\s+DEVICES\s+REPLICAS\s+LABELS$/,
    );
    const rowA = lines.find((l) => l.startsWith(stack.agentA.nodeId));
    const rowB = lines.find((l) => l.startsWith(stack.agentB.nodeId));
    expect(rowA).toMatch(/\s(amd64|arm64|arm)\s+online\s/);
    expect(rowA).toContain("zone=line-1,cell=press");
    expect(rowB).toContain("zone=line-2");

    const json = iotfog(["nodes", "--output", "json"], stack.env);
    const nodes = JSON.parse(json.stdout) as Array<{
      nodeId: string;
      online: boolean;
      free: { cpus: number };
    }>;
    expect(nodes.map((n) => n.nodeId).sort()).toEqual([stack.agentA.nodeId, stack.agentB.nodeId].sort());
    expect(nodes.every((n) => n.online && n.free.cpus > 0)).toBe(true);

    const inspect = iotfog(["node", "inspect", stack.agentB.nodeId], stack.env);
    expect(inspect.status).toBe(0);
    expect(inspect.stdout).toContain(`Node:        ${stack.agentB.nodeId}`);
    expect(inspect.stdout).toMatch(/Endpoint:\s+tcp:\/\/127\.0\.0\.1:\d+/);
    expect(inspect.stdout).toContain("Labels:      zone=line-2");
  });

  it("explain prints every failed predicate on every node and exits 1 when nothing fits", () => {
    const f = file(
      "nowhere.yaml",
      blueprint({
        name: "nowhere",
        constraints: ["node.labels.zone == line-9"],
        devices: [{ class: "zigbee", vendor_id: "10c4", product_id: "ea60" }],
      }),
    );
    const r = iotfog(["explain", f], stack.env);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain("nowhere: cannot be placed");
    for (const node of [stack.agentA.nodeId, stack.agentB.nodeId]) {
      const block = r.stdout.slice(r.stdout.indexOf(`node ${node}`));
      expect(block).toMatch(/✗ \[constraints\] node\.labels\.zone == line-9 {2}\(seen: line-\d\)/);
      expect(block).toMatch(/✗ \[devices\] device zigbee/);
    }
    expect(r.stderr).toContain("iotfog: error: nowhere:");

    const json = JSON.parse(iotfog(["explain", f, "-o", "json"], stack.env).stdout);
    expect(json.feasible).toBe(false);
    expect(json.decisions[0].decision.explanation.nodes).toHaveLength(2);
  });

  it("explain answers what-if: losing the only node that fits makes the blueprint unplaceable", () => {
    const f = file("line2.yaml", blueprint({ name: "line2", constraints: ["node.labels.zone == line-2"] }));
    const ok = iotfog(["explain", f], stack.env);
    expect(ok.status).toBe(0);
    expect(ok.stdout).toContain(`✓ line2#0 → ${stack.agentB.nodeId}`);
    const lost = iotfog(["explain", f, "--lose-node", stack.agentB.nodeId], stack.env);
    expect(lost.status).toBe(1);
    expect(lost.stdout).toContain(`what if: lose node ${stack.agentB.nodeId}: NOT placeable`);
  });

  it("deploy shows placement, the image copied from the other node as a progress bar, and the start", async () => {
    const events = iotfogFollow(
      ["events", "-f", "--type", "deployment.deployed,deployment.removed"],
      stack.env,
    );
    followers.push(events.child);
    feed = events;
    const f = file(
      "copy.yaml",
      blueprint({ name: "copyme", image: copied.image, constraints: ["node.labels.zone == line-2"] }),
    );
    const r = iotfog(["deploy", f], stack.env, 120000);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`placement  copyme#0 → ${stack.agentB.nodeId}`);
    expect(r.stdout).toContain(
      `image      copying ${copied.image} from ${stack.agentA.nodeId} to ${stack.agentB.nodeId}`,
    );
    expect(r.stdout).toMatch(/image {6}\[#{24}\] 100% {2}[\d.]+[KMG]iB\/[\d.]+[KMG]iB/);
    expect(r.stdout).toContain(`start      copyme#0 on ${stack.agentB.nodeId}`);
    expect(r.stdout).toMatch(
      new RegExp(`running    copyme#0 on ${stack.agentB.nodeId} as \\S+ \\(running\\)`),
    );
    expect(r.stdout).toContain("deployed copyme: 1 replica(s)");

    const ps = iotfog(["ps"], stack.env);
    expect(ps.status).toBe(0);
    expect(ps.stdout).toMatch(
      new RegExp(`^copyme\\s+copyme#0\\s+${stack.agentB.nodeId}\\s+running\\s+running\\s`, "m"),
    );
    const psJson = JSON.parse(iotfog(["ps", "-o", "json"], stack.env).stdout);
    expect(psJson[0]).toMatchObject({
      id: "copyme",
      replicas: [{ nodeId: stack.agentB.nodeId, image: copied.image }],
    });

    await waitFor(() => events.out().includes("deployment.deployed"), {
      timeoutMs: 10000,
      what: "events -f",
    });
    expect(events.out()).toMatch(/deployment\.deployed\s+copyme: running/);
  });

  it("logs prints the replica's output; logs -f follows until Ctrl-C and exits 0", async () => {
    const logs = await waitFor(
      () => {
        const r = iotfog(["logs", "copyme"], stack.env);
        return r.stdout.includes("hello from") ? r : undefined;
      },
      { timeoutMs: 15000, what: "the container's first line" },
    );
    expect(logs.status).toBe(0);
    const follow = iotfogFollow(["logs", "-f", "copyme"], stack.env);
    followers.push(follow.child);
    await waitFor(() => follow.out().includes("hello from"), { timeoutMs: 15000, what: "logs -f output" });
    follow.child.kill("SIGINT");
    expect(await exitOf(follow.child)).toBe(0);
  });

  it("ps shows the replica's CPU and memory from its node's usage; top refreshes them until Ctrl-C", async () => {
    const B = stack.agentB.nodeId;
    // CPU needs two readings of the agent's sampler (every second in this stack); the limit is the blueprint's.
    const row = new RegExp(
      `^copyme\\s+copyme#0\\s+${B}\\s+running\\s+running\\s+\\d+\\.\\d%\\s+[\\d.]+(B|KiB|MiB) / 16MiB\\s+\\S+\\s+\\S+$`,
      "m",
    );
    const ps = await waitFor(
      () => {
        const r = iotfog(["ps"], stack.env);
        return row.test(r.stdout) ? r : undefined;
      },
      { timeoutMs: 30000, what: "ps with the replica's CPU and memory" },
    );
    expect(ps.status).toBe(0);
    expect(ps.stdout.split("\n")[0]).toMatch(
      /^DEPLOYMENT\s+REPLICA\s+NODE\s+STATE\s+STATUS\s+CPU\s+MEMORY\s+CONTAINER\s+IMAGE$/,
    );

    // The fleet API serves the same figures: the node's containers by the replica's agent deployment id.
    const { json: dep } = await stack.api<{ replicas: Array<{ agentDeploymentId: string }> }>(
      "GET",
      "/deployments/copyme",
    );
    const { json: node } = await stack.api<{
      containers?: Array<{ deploymentId: string; memoryBytes: number; memoryLimitBytes: number }>;
      usage?: { memoryUsedBytes: number; cpuCores: number };
    }>("GET", `/nodes/${B}`);
    const figures = node.containers?.find((c) => c.deploymentId === dep.replicas[0]?.agentDeploymentId);
    expect(figures?.memoryBytes).toBeGreaterThan(0);
    expect(figures?.memoryLimitBytes).toBe(16 * 1024 * 1024);
    expect(node.usage?.memoryUsedBytes).toBeGreaterThan(0);
    // ps -o json: the same deployments, each replica with its figures.
    const psJson = JSON.parse(iotfog(["ps", "-o", "json"], stack.env).stdout);
    expect(psJson[0].replicas[0].usage).toMatchObject({ memoryLimitBytes: 16 * 1024 * 1024, restarts: 0 });

    const top = iotfogFollow(["top"], stack.env);
    followers.push(top.child);
    // Each redraw clears the screen first; the table's rows still start their own lines.
    await waitFor(() => row.test(top.out()), {
      timeoutMs: 15000,
      what: "iotfog top showing the replica with its CPU and memory",
    });
    expect(top.out()).toContain("(Ctrl-C to stop)");
    top.child.kill("SIGINT");
    expect(await exitOf(top.child)).toBe(0);
  });

  it("rm removes the deployment from its node; the live event feed saw it", async () => {
    const r = iotfog(["rm", "copyme"], stack.env);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toBe("removed copyme\n");
    expect(iotfog(["ps"], stack.env).stdout).toContain("no deployments");
    await waitFor(() => /deployment\.removed\s+copyme: removed/.test(feed?.out() ?? ""), {
      timeoutMs: 10000,
      what: "deployment.removed in events -f",
    });
    const recent = iotfog(["events", "--limit", "200"], stack.env);
    expect(recent.stdout).toMatch(new RegExp(`node\\.online\\s+${stack.agentA.nodeId} is online`));
  });

  it("deploy of an unplaceable blueprint exits 1 with the explanation and starts nothing", () => {
    const f = file("bad.yaml", blueprint({ name: "bad", constraints: ["node.labels.zone == line-9"] }));
    const r = iotfog(["deploy", f], stack.env);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("cannot deploy: cannot place bad replica 0");
    expect(r.stderr).toMatch(/✗ \[constraints\] node\.labels\.zone == line-9/);
    expect(iotfog(["ps", "-o", "json"], stack.env).stdout.trim()).toBe("[]");
  });

  it("mistakes give helpful errors and exit codes: 2 for usage, 1 for what failed", () => {
    const missing = iotfog(["deploy", "does-not-exist.yaml"], stack.env);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain("blueprint file not found: does-not-exist.yaml");

    const invalid = iotfog(["deploy", file("broken.yaml", "metadata: [\n")], stack.env);
    expect(invalid.status).toBe(2);
    expect(invalid.stderr).toContain("iotfog: error:");

    const token = iotfog(["ps"], { ...stack.env, IOTFOG_API_TOKEN: "wrong" });
    expect(token.status).toBe(2);
    expect(token.stderr).toContain("invalid API token (give the token with --token, IOTFOG_API_TOKEN");

    const unknown = iotfog(["rm", "ghost"], stack.env);
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toContain('deployment "ghost" does not exist');

    const down = iotfog(["nodes", "--api-url", "http://127.0.0.1:9"], stack.env);
    expect(down.status).toBe(1);
    expect(down.stderr).toContain("cannot reach the fleet API at http://127.0.0.1:9");

    const output = iotfog(["ps", "--output", "yaml"], stack.env);
    expect(output.status).toBe(2);
    expect(output.stderr).toContain("Allowed choices are table, json");

    for (const cmd of [
      ["nodes"],
      ["node", "inspect"],
      ["node", "label"],
      ["deploy"],
      ["explain"],
      ["ps"],
      ["rm"],
      ["logs"],
      ["events"],
    ]) {
      const help = iotfog([...cmd, "--help"], stack.env);
      expect(help.status).toBe(0);
      expect(help.stdout).toContain("--api-url");
    }
  });
});
