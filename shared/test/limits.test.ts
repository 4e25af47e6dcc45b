import { Router } from "zeromq";
import { AgentClient, LimitRefusals, createLogger, encodeReply } from "@openiotfog/shared";

describe("LimitRefusals", () => {
  it("counts every refusal and logs the first, then at most one line per interval", () => {
    const lines: unknown[] = [];
    const logger = createLogger({ component: "test", silent: true });
    logger.warn = ((message: string, meta: unknown) => {
      lines.push({ message, meta });
      return logger;
    }) as typeof logger.warn;
    let now = 0;
    const refusals = new LimitRefusals("peer table", 10, logger, 60_000, () => now);
    for (let i = 0; i < 5; i++) refusals.refuse({ nodeId: `n${i}` });
    now = 61_000;
    refusals.refuse({ nodeId: "n5" });
    expect(refusals.refused).toBe(6);
    expect(lines).toEqual([
      {
        message: "peer table: limit of 10 reached, refused",
        meta: { nodeId: "n0", limit: 10, refusedSinceLastLine: 1, refusedTotal: 1 },
      },
      {
        message: "peer table: limit of 10 reached, refused",
        meta: { nodeId: "n5", limit: 10, refusedSinceLastLine: 5, refusedTotal: 6 },
      },
    ]);
  });
});

describe("AgentClient reply bound", () => {
  it("discards replies with more than two frames or over maxReplyBytes; the call then times out as for no reply", async () => {
    const router = new Router({ linger: 0 });
    await router.bind("tcp://127.0.0.1:0");
    const client = new AgentClient({
      endpoint: router.lastEndpoint!,
      timeoutMs: 400,
      retries: 0,
      maxReplyBytes: 4096,
    });
    const answer = async (extra: (id: string) => Buffer[]): Promise<void> => {
      const [identity, head] = await router.receive();
      const id = (JSON.parse(head!.toString()) as { id: string }).id;
      await router.send([identity!, ...extra(id)]);
    };
    const reply = (id: string) =>
      encodeReply({
        v: 1,
        id,
        ok: true,
        result: { nodeId: "n", agentVersion: "0", protocolVersion: 1, time: 1, uptimeMs: 0 },
      });
    try {
      // Three frames: not a reply this protocol produces.
      let call = client.call("ping", {});
      await answer((id) => [reply(id), Buffer.from("a"), Buffer.from("b")]);
      await expect(call).rejects.toMatchObject({ code: "UNAVAILABLE" });
      // Envelope and attachment together over the bound.
      call = client.call("ping", {});
      await answer((id) => [reply(id), Buffer.alloc(4000)]);
      await expect(call).rejects.toMatchObject({ code: "UNAVAILABLE" });
      expect(client.replyRefusals.refused).toBe(2);
      // A reply within the bound is still served.
      call = client.call("ping", {});
      await answer((id) => [reply(id)]);
      await expect(call).resolves.toMatchObject({ nodeId: "n" });
    } finally {
      await client.close();
      router.close();
    }
  });
});
