import {
  IotFogError,
  PROTOCOL_VERSION,
  createLogger,
  decodeReply,
  encodeRequest,
  type AgentCommandName,
} from "@openiotfog/shared";
import { CommandEndpoint, type CommandHandlers } from "../src/endpoint/server";

const logger = createLogger({ component: "test", silent: true });

/** An endpoint (never bound: answer() is driven directly) whose `stop` handler throws what `next` says. */
function endpointFailingWith(next: () => IotFogError | undefined): {
  endpoint: CommandEndpoint;
  runs: () => number;
} {
  let runs = 0;
  const handlers = {
    stop: async () => {
      runs += 1;
      const error = next();
      if (error !== undefined) throw error;
      return {
        deploymentId: "d",
        nodeId: "n",
        service: "s",
        replica: 0,
        image: "i",
        desired: "stopped",
        state: "exited",
        containerName: "c",
        devices: [],
        createdAt: 1,
      };
    },
  } as Partial<CommandHandlers> as CommandHandlers;
  const endpoint = new CommandEndpoint(
    {
      bind: "tcp://127.0.0.1:0",
      maxEnvelopeBytes: 64 * 1024,
      maxAttachmentBytes: 64 * 1024,
      replyCacheMs: 60_000,
      clockSkewToleranceMs: 1000,
    },
    handlers,
    logger,
  );
  return { endpoint, runs: () => runs };
}

const request = (id: string, command: AgentCommandName = "stop"): Buffer[] => [
  encodeRequest({
    v: PROTOCOL_VERSION,
    id,
    deadline: Date.now() + 10_000,
    command,
    params: { deploymentId: "d", timeoutSeconds: 1 },
  }),
];

describe("command endpoint: replay of changing commands decided on the error's retryable field", () => {
  it("runs a request again after a retryable failure, and replays the success after that", async () => {
    let first = true;
    const { endpoint, runs } = endpointFailingWith(() => {
      if (!first) return undefined;
      first = false;
      return new IotFogError("CONFLICT", "busy elsewhere", undefined, { retryable: true });
    });
    const failed = decodeReply((await endpoint.answer(request("r1")))[0]!);
    expect(failed).toMatchObject({ ok: false, error: { code: "CONFLICT", retryable: true } });
    expect(decodeReply((await endpoint.answer(request("r1")))[0]!)).toMatchObject({ ok: true });
    expect(decodeReply((await endpoint.answer(request("r1")))[0]!)).toMatchObject({ ok: true });
    expect(runs()).toBe(2);
  });

  it("replays a failure that is not retryable, even when its details mention retryable", async () => {
    const { endpoint, runs } = endpointFailingWith(
      () => new IotFogError("CONFLICT", "taken", { retryable: true }, { retryable: false }),
    );
    const frames = await endpoint.answer(request("r2"));
    // The encoded reply holds the text "retryable":true (in its details); the decision is not made on that.
    expect(frames[0]!.toString()).toContain('"retryable":true');
    expect(decodeReply(frames[0]!)).toMatchObject({ ok: false, error: { code: "CONFLICT" } });
    expect(decodeReply((await endpoint.answer(request("r2")))[0]!)).toMatchObject({
      ok: false,
      error: { code: "CONFLICT" },
    });
    expect(runs()).toBe(1);
  });

  it("runs again after a failure of a code retryable by default (UNAVAILABLE)", async () => {
    let failures = 1;
    const { endpoint, runs } = endpointFailingWith(() =>
      failures-- > 0 ? new IotFogError("UNAVAILABLE", "engine restarting") : undefined,
    );
    expect(decodeReply((await endpoint.answer(request("r3")))[0]!)).toMatchObject({ ok: false });
    expect(decodeReply((await endpoint.answer(request("r3")))[0]!)).toMatchObject({ ok: true });
    expect(runs()).toBe(2);
  });
});
