import {
  nodeTopic,
  createLogger,
  IotFogError,
  type AgentClient,
  type DeploymentInfo,
} from "@openiotfog/shared";
import { LiveFleet } from "../../src/openbaton/fleet/live-fleet";
import { PendingRemovals } from "../../src/openbaton/pending-removals";
import { ReturningNodes } from "../../src/openbaton/returning-nodes";
import { TOPIC_PREFIX, capabilitiesMessage, presenceMessage, testFleetView } from "../fleet/fixtures";

const PREFIX = "ob-docker-fog-";
type Call = { nodeId: string; command: string; params: Record<string, unknown> };
/** What a fake agent answers: a value, or an error to throw. */
type Answer = unknown;

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`not reached: ${what}`);
}

function info(nodeId: string, name: string, createdAt: number, service = "iperf-server-42"): DeploymentInfo {
  return {
    deploymentId: `${PREFIX}${name}.${service}.0`,
    nodeId,
    service,
    replica: 0,
    image: "iperfserver:latest",
    desired: "running",
    state: "running",
    containerName: `iotfog-${nodeId}-${name}`,
    devices: [],
    createdAt,
  };
}

function setup(opts: { own?: string[] } = {}) {
  const view = testFleetView();
  const fleet = new LiveFleet(view);
  const send = (nodeId: string, kind: "presence" | "capabilities", payload: string): void =>
    view.onMessage(nodeTopic(TOPIC_PREFIX, nodeId, kind), payload);
  const up = (nodeId: string): void => {
    send(nodeId, "presence", presenceMessage(nodeId, "online", { endpoint: "tcp://127.0.0.1:5555" }));
    send(nodeId, "capabilities", capabilitiesMessage(nodeId));
  };
  const down = (nodeId: string): void => send(nodeId, "presence", presenceMessage(nodeId, "offline"));
  const calls: Call[] = [];
  /** Per node and command, the answers in order (the last one repeats). */
  const answers = new Map<string, Answer[]>();
  const lists = new Map<string, DeploymentInfo[]>();
  const agent = (nodeId: string): Pick<AgentClient, "call"> => {
    if (fleet.liveNode(nodeId) === undefined)
      throw new IotFogError("UNAVAILABLE", `node "${nodeId}" is offline`);
    const call = async (command: string, params: Record<string, unknown>): Promise<unknown> => {
      calls.push({ nodeId, command, params });
      if (command === "list") return { deployments: lists.get(nodeId) ?? [] };
      const queue = answers.get(`${nodeId}/${command}`) ?? [];
      const a = queue.length > 1 ? queue.shift() : queue[0];
      if (a instanceof Error) throw a;
      return a ?? { deploymentId: params.deploymentId, removed: true };
    };
    return { call } as unknown as Pick<AgentClient, "call">;
  };
  const pending = new PendingRemovals();
  const forgotten: string[] = [];
  const logger = createLogger({ component: "test", silent: true });
  const returning = new ReturningNodes({
    fleet,
    agent,
    pending,
    isOurs: (id) => id.startsWith(PREFIX),
    ownLaunches: async () => new Set(opts.own ?? []),
    forget: async (id) => void forgotten.push(id),
    logger,
    attempts: 3,
    backoff: { initialMs: 1, maxMs: 2 },
  });
  return { up, down, calls, answers, lists, pending, forgotten, returning, logger };
}

describe("ReturningNodes (removals owed to a node, paid when it is live again)", () => {
  it("removes a tombstoned deployment once its node is back, retrying while the endpoint is not ready", async () => {
    const t = setup();
    t.up("pi-1");
    t.up("pi-2");
    await t.returning.start();
    const id = `${PREFIX}aaa.iperf-server-42.0`;
    t.down("pi-1");
    t.pending.add({ nodeId: "pi-1", deploymentId: id, since: 1, reason: "node offline" });
    t.answers.set("pi-1/remove", [
      new IotFogError("TIMEOUT", "no reply"),
      { deploymentId: id, removed: true },
    ]);
    const logged = jest.spyOn(t.logger, "info");
    t.up("pi-1");
    await until(() => t.pending.size === 0, "tombstone dropped");
    expect(t.calls.filter((c) => c.command === "remove")).toEqual([
      { nodeId: "pi-1", command: "remove", params: { deploymentId: id, timeoutSeconds: 2 } },
      { nodeId: "pi-1", command: "remove", params: { deploymentId: id, timeoutSeconds: 2 } },
    ]);
    await until(() => t.forgotten.length === 1, "record forgotten");
    expect(t.forgotten).toEqual([id]);
    expect(logged).toHaveBeenCalledWith(
      "removed a deployment left on a node while it was offline",
      expect.objectContaining({ nodeId: "pi-1", deploymentId: id, removed: true, reason: "node offline" }),
    );
    await t.returning.stop();
  });

  it("drops the tombstone when the agent has no such deployment (NOT_FOUND), keeps it when no answer came", async () => {
    const t = setup();
    await t.returning.start();
    t.pending.add({ nodeId: "pi-1", deploymentId: `${PREFIX}a.s-1.0`, since: 1, reason: "node offline" });
    t.pending.add({ nodeId: "pi-2", deploymentId: `${PREFIX}b.s-1.0`, since: 1, reason: "node offline" });
    t.answers.set("pi-1/remove", [new IotFogError("NOT_FOUND", "no deployment")]);
    t.answers.set("pi-2/remove", [new IotFogError("TIMEOUT", "no reply")]);
    t.up("pi-1");
    t.up("pi-2");
    await until(() => !t.pending.has("pi-1", `${PREFIX}a.s-1.0`), "pi-1's tombstone dropped");
    await until(
      () => t.calls.filter((c) => c.nodeId === "pi-2" && c.command === "remove").length === 3,
      "3 tries",
    );
    await t.returning.stop();
    expect(t.pending.has("pi-2", `${PREFIX}b.s-1.0`)).toBe(true);
    expect(t.forgotten).toEqual([`${PREFIX}a.s-1.0`]);
  });

  it("a node that did not answer but stays live is tried again at once (retry)", async () => {
    const t = setup();
    t.up("pi-1");
    await t.returning.start();
    t.pending.add({ nodeId: "pi-1", deploymentId: `${PREFIX}a.s-1.0`, since: 1, reason: "timeout" });
    t.returning.retry("pi-1");
    await until(() => t.pending.size === 0, "tombstone dropped");
    await t.returning.stop();
  });

  it("sweeps the live fleet when a node comes back: the older copy of a re-placed VNFC is removed", async () => {
    const t = setup();
    const old = info("pi-1", "old", 1000);
    const newer = info("pi-2", "new", 2000);
    t.lists.set("pi-1", [old, info("pi-1", "lone", 10, "other-7")]);
    t.lists.set("pi-2", [newer]);
    // A driver started after the re-placement: pi-2 is live first, pi-1 comes back later.
    t.up("pi-2");
    await t.returning.start();
    t.up("pi-1");
    await until(() => t.forgotten.length === 1, "old copy forgotten");
    expect(t.forgotten).toEqual([old.deploymentId]);
    expect(
      t.calls.filter((c) => c.command === "remove").map((c) => [c.nodeId, c.params.deploymentId]),
    ).toEqual([["pi-1", old.deploymentId]]);
    await t.returning.stop();
  });

  it("the sweep leaves copies alone when the newest one was launched by this driver process", async () => {
    const newer = info("pi-2", "new", 2000);
    const t = setup({ own: [newer.deploymentId] });
    t.lists.set("pi-1", [info("pi-1", "old", 1000)]);
    t.lists.set("pi-2", [newer]);
    t.up("pi-1");
    t.up("pi-2");
    await t.returning.start();
    await until(() => t.calls.filter((c) => c.command === "list").length >= 2, "listed both nodes");
    await t.returning.stop();
    expect(t.calls.filter((c) => c.command === "remove")).toEqual([]);
  });
});
