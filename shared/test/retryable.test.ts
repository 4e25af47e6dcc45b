import { Router } from "zeromq";
import {
  AgentClient,
  IotFogError,
  encodeReply,
  errorReply,
  fromWireError,
  okReply,
  toWireError,
} from "../src";

describe("IotFogError.retryable", () => {
  it("defaults to whether the code is a passing failure (TIMEOUT, UNAVAILABLE)", () => {
    expect(new IotFogError("TIMEOUT", "late").retryable).toBe(true);
    expect(new IotFogError("UNAVAILABLE", "busy").retryable).toBe(true);
    expect(new IotFogError("CONFLICT", "taken").retryable).toBe(false);
    expect(new IotFogError("ADMISSION_REFUSED", "no").retryable).toBe(false);
  });

  it("can be set either way, whatever the code", () => {
    expect(new IotFogError("UNAVAILABLE", "gone for good", undefined, { retryable: false }).retryable).toBe(
      false,
    );
    expect(new IotFogError("CONFLICT", "try again", undefined, { retryable: true }).retryable).toBe(true);
  });

  it("keeps a cause when one is given and adds none otherwise", () => {
    const cause = new Error("root");
    expect(new IotFogError("INTERNAL", "x", undefined, { cause }).cause).toBe(cause);
    expect("cause" in new IotFogError("INTERNAL", "x")).toBe(false);
  });

  it("travels on the wire as `retryable` and comes back the same", () => {
    const busy = new IotFogError("UNAVAILABLE", "busy");
    expect(toWireError(busy)).toEqual({ code: "UNAVAILABLE", message: "busy", retryable: true });
    expect(fromWireError(toWireError(busy)).retryable).toBe(true);

    const final = new IotFogError("UNAVAILABLE", "node revoked", undefined, { retryable: false });
    expect(toWireError(final)).toEqual({ code: "UNAVAILABLE", message: "node revoked" });
    expect(fromWireError(toWireError(final)).retryable).toBe(false);

    const again = new IotFogError("CONFLICT", "in progress", { retryable: true }, { retryable: true });
    expect(fromWireError(toWireError(again))).toMatchObject({ code: "CONFLICT", retryable: true });
    // A code from a newer agent keeps the flag it was sent with.
    expect(fromWireError({ code: "FROM_THE_FUTURE", message: "?", retryable: true })).toMatchObject({
      code: "INTERNAL",
      retryable: true,
    });
  });
});

describe("AgentClient retries on the error's retryable field", () => {
  const pong = { nodeId: "n", agentVersion: "0", protocolVersion: 1, time: 1, uptimeMs: 0 };

  /** A ROUTER that answers each request with the next reply in `script` and records the request ids. */
  async function scriptedAgent(script: Array<(id: string) => Buffer>): Promise<{
    endpoint: string;
    ids: string[];
    close(): void;
  }> {
    const router = new Router({ linger: 0 });
    await router.bind("tcp://127.0.0.1:0");
    const ids: string[] = [];
    void (async () => {
      try {
        for await (const [identity, head] of router) {
          const id = (JSON.parse(head!.toString()) as { id: string }).id;
          ids.push(id);
          const reply = script[Math.min(ids.length - 1, script.length - 1)]!;
          await router.send([identity!, reply(id)]);
        }
      } catch {
        // closed
      }
    })();
    return { endpoint: router.lastEndpoint!, ids, close: () => router.close() };
  }

  it("sends the same request again (same id) after a retryable error, even of a code that is not retryable by default", async () => {
    const agent = await scriptedAgent([
      (id) =>
        encodeReply(
          errorReply(id, new IotFogError("CONFLICT", "still settling", undefined, { retryable: true })),
        ),
      (id) => encodeReply(okReply(id, pong)),
    ]);
    const client = new AgentClient({
      endpoint: agent.endpoint,
      timeoutMs: 2000,
      retries: 2,
      retryDelayMs: 5,
    });
    try {
      await expect(client.call("ping", {})).resolves.toMatchObject({ nodeId: "n" });
      expect(agent.ids).toHaveLength(2);
      expect(new Set(agent.ids).size).toBe(1);
    } finally {
      await client.close();
      agent.close();
    }
  });

  it("gives up at once on an error that is not retryable, even of a code that is retryable by default", async () => {
    const agent = await scriptedAgent([
      (id) =>
        encodeReply(
          errorReply(id, new IotFogError("UNAVAILABLE", "revoked", undefined, { retryable: false })),
        ),
      (id) => encodeReply(okReply(id, pong)),
    ]);
    const client = new AgentClient({
      endpoint: agent.endpoint,
      timeoutMs: 2000,
      retries: 2,
      retryDelayMs: 5,
    });
    try {
      await expect(client.call("ping", {})).rejects.toMatchObject({
        code: "UNAVAILABLE",
        message: "revoked",
        retryable: false,
      });
      expect(agent.ids).toHaveLength(1);
    } finally {
      await client.close();
      agent.close();
    }
  });
});
