import { createLogger } from "@openiotfog/shared";
import { METHODS, METHOD_COUNT, resolveMethod, type VimOperations } from "../../src/openbaton/methods";
import { prepareRequest, DriverError } from "../../src/openbaton/dispatcher";
import { answerReply, exceptionReply, isStrictBase64 } from "../../src/openbaton/protocol";

const logger = createLogger({ component: "test", silent: true });
const vim = { type: "docker.fog", name: "v" };

/** Records which operation ran with which arguments; every operation answers its own name. */
function recordingOps(): { ops: VimOperations; calls: Array<[string, unknown[]]> } {
  const calls: Array<[string, unknown[]]> = [];
  const ops = new Proxy(
    {},
    {
      get:
        (_t, prop: string) =>
        async (...args: unknown[]) => {
          calls.push([prop, args]);
          if (prop === "launch") throw new DriverError("no node", { extId: "n:x", hostName: "h" });
          return { op: prop };
        },
    },
  ) as VimOperations;
  return { ops, calls };
}

async function run(body: unknown, ops: VimOperations): Promise<Record<string, unknown>> {
  const raw = Buffer.from(typeof body === "string" ? body : JSON.stringify(body));
  return (await prepareRequest(raw, ops, logger).run()) as Record<string, unknown>;
}

describe("method table", () => {
  it("has the 29 overloads of ClientInterfaces, each a distinct (name, parameter count) except addImage/3", () => {
    expect(METHOD_COUNT).toBe(29);
    const keys = METHODS.map((m) => `${m.name}/${m.params.length}`);
    const dup = keys.filter((k, i) => keys.indexOf(k) !== i);
    expect(dup).toEqual(["addImage/3"]);
    expect(METHODS.filter((m) => m.background).map((m) => m.name)).toEqual(["deleteServerByIdAndWait"]);
  });

  it.each([
    ["launchInstanceAndWait", 10, "floatingIps"],
    ["launchInstanceAndWait", 8, "userdata"],
    ["addImage", 4, "imageRepoToken"],
  ])("resolves %s with %i parameters", (name, count, last) => {
    const m = resolveMethod({ methodName: name, parameters: new Array(count).fill(null) });
    expect(m.params.length).toBe(count);
    expect(m.params).toContain(last);
  });

  it("tells the two addImage/3 overloads apart by the last value (Base64 = byte[], else URL)", () => {
    const bytes = resolveMethod({ methodName: "addImage", parameters: [vim, {}, "aGVsbG8="] });
    expect(bytes.params[2]).toBe("imageFile");
    const url = resolveMethod({ methodName: "addImage", parameters: [vim, {}, "http://host/img.tar"] });
    expect(url.params[2]).toBe("image_url");
  });

  it("names the method on an unknown name or a wrong parameter count", () => {
    expect(() => resolveMethod({ methodName: "nope", parameters: [] })).toThrow(/unknown method "nope"/);
    expect(() => resolveMethod({ methodName: "getQuota", parameters: [] })).toThrow(
      /"getQuota" got 0 parameter\(s\); it takes getQuota\(vim\)/,
    );
  });
});

describe("request handling", () => {
  it("decodes launchInstanceAndWait parameters (null entries, floating IPs without nulls)", async () => {
    const { ops, calls } = recordingOps();
    const reply = await run(
      {
        methodName: "launchInstanceAndWait",
        parameters: [
          vim,
          "web-1",
          "sha256:abc",
          "",
          null,
          [{ virtual_link_reference: "lan", metadata: { "iotfog.constraints": "node.labels.zone==a" } }],
          [],
          "#Hostname=",
          { lan: "random", other: null },
          [],
        ],
      },
      ops,
    );
    expect(reply).toEqual({
      exception: { detailMessage: "no node", server: { extId: "n:x", hostName: "h" } },
    });
    const [op, args] = calls[0] as [string, unknown[]];
    expect(op).toBe("launch");
    expect(args[1]).toMatchObject({
      hostname: "web-1",
      image: "sha256:abc",
      keyPair: "",
      floatingIps: { lan: "random" },
      wait: true,
    });
  });

  it("decodes byte[] from Base64 and answers {answer}", async () => {
    const { ops, calls } = recordingOps();
    const reply = await run({ methodName: "copyImage", parameters: [vim, { name: "i" }, "aGVsbG8="] }, ops);
    expect(reply).toEqual({ answer: { op: "copyImage" } });
    expect((calls[0]?.[1][2] as Buffer).toString()).toBe("hello");
  });

  it("answers non-JSON and wrongly shaped bodies with an exception naming the problem", async () => {
    const { ops } = recordingOps();
    expect(await run("{oops", ops)).toEqual({
      exception: { detailMessage: expect.stringMatching(/not JSON/) },
    });
    const shaped = await run({ methodName: "", parameters: {} }, ops);
    expect(String((shaped.exception as { detailMessage: string }).detailMessage)).toMatch(
      /field "methodName".*field "parameters"/,
    );
  });

  it("never produces a null answer or a null exception", () => {
    expect(answerReply(null)).toEqual({ exception: { detailMessage: expect.any(String) } });
    expect(answerReply([])).toEqual({ answer: [] });
    expect(answerReply(false)).toEqual({ answer: false });
    expect(exceptionReply("  ", null)).toEqual({ exception: { detailMessage: "driver error (no message)" } });
  });

  it("recognises strict Base64 only", () => {
    expect(isStrictBase64("aGVsbG8=")).toBe(true);
    expect(isStrictBase64("http://x/y")).toBe(false);
    expect(isStrictBase64("abc")).toBe(false);
  });
});
