/**
 * The Open Baton plugin protocol of the real driver, driven by the NFVO emulator over a real RabbitMQ
 * (temporary vhost): registration and permissions, queue flags, request / reply shapes and the NFVO parser's
 * traps, the 29 methods' dispatch, bad input, NFVO restart, deregistration. No agents here: the fleet is empty,
 * so inventory answers are the honest empty ones (driver-fleet.test.ts covers the fleet).
 */
import { RABBIT_ADMIN, RABBIT_MGMT_URL, rabbitManagement, waitFor } from "../helpers/services";
import {
  PluginException,
  getQueue,
  getQueueBindings,
  getQueueConsumerUsers,
  getQueues,
  type JavaType,
} from "../nfvo-emulator";
import { startDriverHarness, type DriverHarness } from "../nfvo-emulator/harness";

const mgmt = { url: RABBIT_MGMT_URL, ...RABBIT_ADMIN };

/** Asserts the raw reply of the last call is exactly one of {answer} / {exception}, never null. */
function expectCleanReply(h: DriverHarness): Record<string, unknown> {
  const body = h.emulator.lastTrace?.replyBody;
  expect(body).toBeDefined();
  const reply = JSON.parse(body as string) as Record<string, unknown>;
  expect(Object.keys(reply)).toHaveLength(1);
  const [key] = Object.keys(reply);
  expect(["answer", "exception"]).toContain(key);
  expect(reply[key as string]).not.toBeNull();
  return reply;
}

async function rejection(p: Promise<unknown>): Promise<PluginException> {
  try {
    await p;
  } catch (e) {
    if (e instanceof PluginException) return e;
    throw e;
  }
  throw new Error("expected the call to fail");
}

describe("driver: Open Baton plugin protocol (NFVO emulator, real RabbitMQ)", () => {
  let h: DriverHarness;

  beforeAll(async () => {
    h = await startDriverHarness();
  });

  afterAll(async () => {
    await h?.close();
  });

  it("registers, then consumes its queue with the NFVO's flags as the plugin user the NFVO created for it", async () => {
    expect(h.emulator.events).toContainEqual({ kind: "register", type: h.pluginId, reused: false });
    // The driver reconnected with the credentials the registration answered: its consumer is that user's.
    // (The management API's consumer list lags by its statistics interval.)
    let consumers: string[] = [];
    await waitFor(
      async () => (consumers = await getQueueConsumerUsers(mgmt, h.vhost.vhost, h.pluginId)).length > 0,
      {
        what: "a consumer on the plugin queue in the management API",
      },
    );
    expect(consumers).toEqual([h.pluginId]);
    const q = await getQueue(mgmt, h.vhost.vhost, h.pluginId);
    expect(q).toMatchObject({ durable: true, exclusive: false, auto_delete: true });
    const bindings = await getQueueBindings(mgmt, h.vhost.vhost, h.pluginId);
    expect(bindings).toContainEqual(
      expect.objectContaining({ source: "openbaton-exchange", routing_key: h.pluginId }),
    );
    expect(await h.emulator.caller.getFullPluginId(`vim-drivers.${h.vim.type}`)).toBe(h.pluginId);
  });

  it("registers a VIM: refresh echoes it with images and networks arrays; a second refresh keeps hbVersion", async () => {
    const vim = { ...h.vim, metadata: { "iotfog.constraints": "node.labels.zone==line-1" } };
    const stored = await h.emulator.registerVim(vim);
    expectCleanReply(h);
    expect(stored).toMatchObject({
      name: vim.name,
      type: vim.type,
      authUrl: h.vim.authUrl,
      images: [],
      networks: [],
    });
    expect(stored.location).toEqual(h.vim.location);
    expect(stored.metadata).toEqual(vim.metadata);
    const again = await h.emulator.refresh(vim.name);
    expect(again.id).toBe(stored.id);
    expect(again.hbVersion).toBe(1);
    // The request itself was Gson-shaped: pretty-printed with HTML characters escaped.
    expect(h.emulator.lastTrace?.requestBody).toContain("\\u003d\\u003d");
  });

  it("answers getType, listFlavors, getQuota, listServer, listImages and listNetworks with Gson-compatible shapes", async () => {
    expect(await h.emulator.call(h.vim, "getType", [], "String")).toBe("docker");
    expect(await h.emulator.call(h.vim, "listFlavors", [], "List<DeploymentFlavour>")).toEqual([
      { flavour_key: "m1.small", extId: "m1.small", ram: 0, disk: 0, vcpus: 0 },
    ]);
    const quota = (await h.emulator.call(h.vim, "getQuota", [], "Quota")) as Record<string, number>;
    expectCleanReply(h);
    // No agent is online in this file: the real aggregate capacity is zero, and never negative.
    expect(quota).toMatchObject({ cores: 0, ram: 0, instances: 0, floatingIps: 0, keyPairs: 0 });
    expect(await h.emulator.call(h.vim, "listServer", [], "List<Server>")).toEqual([]);
    expectCleanReply(h);
    expect(await h.emulator.call(h.vim, "listImages", [], "List<DockerImage>")).toEqual([]);
    expect(await h.emulator.call(h.vim, "listNetworks", [], "List<DockerNetwork>")).toEqual([]);
  });

  it("unknown method and wrong parameter count: exception replies that name the method", async () => {
    const unknown = await rejection(h.emulator.call(h.vim, "frobnicate", [], "String"));
    expect(unknown.vimDriverException?.detailMessage).toMatch(/unknown method "frobnicate"/);
    expectCleanReply(h);
    const arity = await rejection(h.emulator.call(h.vim, "refresh", ["x", "y"], "BaseVimInstance"));
    expect(arity.vimDriverException?.detailMessage).toMatch(
      /"refresh" got 3 parameter\(s\); it takes refresh\(vim\)/,
    );
    const launch = await rejection(h.emulator.call(h.vim, "launchInstanceAndWait", ["h", "img"], "Server"));
    expect(launch.vimDriverException?.detailMessage).toMatch(
      /launchInstanceAndWait\(vim, hostname.*keys\) or/,
    );
  });

  it("non-JSON, wrongly shaped messages and bad parameters get exception replies; the driver keeps serving", async () => {
    const prefix = `vim-drivers.${h.vim.type}`;
    const notJson = await rejection(h.emulator.caller.executeRaw(prefix, "this is { not json", "String"));
    expect(notJson.vimDriverException?.detailMessage).toMatch(/request is not JSON/);
    expectCleanReply(h);
    const shape = await rejection(h.emulator.caller.executeRaw(prefix, '{"methodName": 5}', "String"));
    expect(shape.vimDriverException?.detailMessage).toMatch(/field "methodName"/);
    expect(shape.vimDriverException?.detailMessage).toMatch(/field "parameters"/);
    const noType = await rejection(
      h.emulator.caller.executeRPC(prefix, "getType", [{ name: "x" }], "String"),
    );
    expect(noType.vimDriverException?.detailMessage).toMatch(/parameter 1 \(vim\).*field "type"/);
    const badNet = await rejection(
      h.emulator.call(h.vim, "createNetwork", [{ subnet: "10.9.0.0/24" }], "BaseNetwork"),
    );
    expect(badNet.vimDriverException?.detailMessage).toMatch(/parameter 2 \(network\).*field "name"/);
    // Nobody to answer: a message without reply_to must not take the driver down.
    await h.emulator.caller.executeRaw(prefix, "garbage without reply_to", null, { omitReplyTo: true });
    expect(await h.emulator.call(h.vim, "getType", [], "String")).toBe("docker");
  });

  it("tells the addImage overloads apart: Base64 bytes go to import, a URL to pull", async () => {
    const bytes = await rejection(
      h.emulator.call(
        h.vim,
        "addImage",
        [{ name: "x" }, Buffer.from("not a tarball").toString("base64")],
        "NFVImage",
      ),
    );
    expect(bytes.vimDriverException?.detailMessage).toMatch(/no live fog node accepted the image/);
    const url = await rejection(
      h.emulator.call(h.vim, "addImage", [{ name: "x" }, "registry.local/x:1"], "NFVImage"),
    );
    expect(url.vimDriverException?.detailMessage).toMatch(/no live fog node could pull registry.local\/x:1/);
    const badBase64 = await rejection(
      h.emulator.call(h.vim, "copyImage", [{ name: "x" }, "%%%"], "NFVImage"),
    );
    expect(badBase64.vimDriverException?.detailMessage).toMatch(/copyImage: imageFile.*Base64/);
  });

  it("answers every one of the 29 overloads in the type the NFVO reads it as, or with a named exception", async () => {
    const net = { name: "vl-x" };
    // Method → the Java type VimDriverCaller parses `answer` into (openbaton-protocol.md §3, Docker VIM).
    const calls: Array<[string, unknown[], JavaType]> = [
      ["refresh", [], "BaseVimInstance"],
      ["launchInstanceAndWait", ["h-1", "img", "", "", [], [], "", {}, []], "Server"],
      ["launchInstanceAndWait", ["h-1", "img", "", "", [], [], ""], "Server"],
      ["launchInstance", ["h-1", "img", "", "", [], [], ""], "Server"],
      ["listServer", [], "List<Server>"],
      ["getQuota", [], "Quota"],
      ["createNetwork", [net], "BaseNetwork"],
      ["deleteNetwork", ["iotfog-vl-x"], "Boolean"],
      ["getNetworkById", ["iotfog-vl-x"], "BaseNetwork"],
      ["listNetworks", [], "List<DockerNetwork>"],
      ["listImages", [], "List<DockerImage>"],
      ["listFlavors", [], "List<DeploymentFlavour>"],
      ["addImage", [{ name: "i" }, "http://127.0.0.1:9/none.tar"], "NFVImage"],
      ["addImage", [{ name: "i" }, "AAAA"], "NFVImage"],
      ["addImage", [{ name: "i" }, "repo/i:1", "token"], "NFVImage"],
      ["updateImage", [{ extId: "sha256:none" }], "NFVImage"],
      ["copyImage", [{ name: "i" }, "AAAA"], "NFVImage"],
      ["deleteImage", [{ extId: "sha256:none" }], "Boolean"],
      ["addFlavor", [{ flavour_key: "m1.small" }], "DeploymentFlavour"],
      ["updateFlavor", [{ flavour_key: "m9.huge" }], "DeploymentFlavour"],
      ["deleteFlavor", ["m1.small"], "Boolean"],
      ["createSubnet", [net, { name: "s" }], "Subnet"],
      ["updateNetwork", [net], "BaseNetwork"],
      ["updateSubnet", [net, { name: "s" }], "Subnet"],
      ["getSubnetsExtIds", ["iotfog-vl-x"], "List<String>"],
      ["deleteSubnet", ["s"], "Boolean"],
      ["rebuildServer", ["n:x", "img"], "Server"],
      ["getType", [], "String"],
    ];
    const outcomes: string[] = [];
    for (const [method, args, javaType] of calls) {
      // A wrongly shaped answer makes fromJson throw a GsonError, which fails the test here.
      const outcome = await h.emulator.call(h.vim, method, args, javaType).then(
        (answer) => ({ answer }),
        (e: unknown) => {
          if (!(e instanceof PluginException)) throw e;
          return { exception: e.vimDriverException?.detailMessage };
        },
      );
      expectCleanReply(h);
      if ("answer" in outcome) {
        expect(outcome.answer).toBeDefined();
        outcomes.push(`${method} → ${javaType}`);
      } else {
        // A sentence that says what went wrong, not an empty or serialised object ("{}").
        expect(outcome.exception).toMatch(/^[A-Za-z][^{}]*[a-z]{3}/);
        expect(outcome.exception).not.toMatch(/unknown method|parameter\(s\)/);
        outcomes.push(`${method} → exception: ${outcome.exception}`);
      }
    }
    // + deleteServerByIdAndWait, which is void: the NFVO does not wait for it.
    await h.emulator.call(h.vim, "deleteServerByIdAndWait", ["node-x:not-ours"], null);
    expect(outcomes.length + 1).toBe(29);
    console.log(`the 29 overloads, read as the NFVO reads them:\n  ${outcomes.join("\n  ")}`);
    expect(
      await h.emulator.call(h.vim, "addFlavor", [{ flavour_key: "m1.small" }], "DeploymentFlavour"),
    ).toMatchObject({
      flavour_key: "m1.small",
    });
  });

  it("registers again when the NFVO restarts with an empty database, and serves again", async () => {
    const logged = h.logs.length;
    await h.emulator.stop({ removeUsers: false });
    h.emulator.forgetDatabase();
    // A real NFVO takes tens of seconds to restart: start it again once the driver has seen it gone.
    await h.waitForLog({ message: /NFVO stopped consuming/, part: "openbaton" }, logged);
    const before = h.emulator.events.length;
    await h.emulator.start();
    await waitFor(
      () =>
        h.emulator.events
          .slice(before)
          .some((e) => e.kind === "register" && e.type === h.pluginId && !e.reused),
      { timeoutMs: 20000, what: "registration after the NFVO restart" },
    );
    await h.waitServing();
    expect(await h.emulator.call(h.vim, "getType", [], "String")).toBe("docker");
  });

  it("deregisters on shutdown: the NFVO deletes the plugin user and the queue goes away", async () => {
    await h.stopDriver();
    await waitFor(() => h.emulator.events.some((e) => e.kind === "deregister" && e.username === h.pluginId), {
      what: "deregistration",
    });
    expect(h.emulator.events).toContainEqual({ kind: "deregister", username: h.pluginId, accepted: true });
    await waitFor(
      async () =>
        (await rabbitManagement("GET", `/api/users/${encodeURIComponent(h.pluginId)}`)).status === 404,
      { what: "plugin user deleted" },
    );
    await waitFor(async () => !(await getQueues(mgmt, h.vhost.vhost)).includes(h.pluginId), {
      what: "plugin queue removed",
    });
  });
});
