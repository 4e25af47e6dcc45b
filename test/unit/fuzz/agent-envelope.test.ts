/**
 * Fuzz of the agent's command endpoint (ZeroMQ boundary): the envelope and every command's params, through the
 * endpoint's own frame checks, envelope decoding and params validation (`CommandEndpoint.answer`, what the ROUTER
 * loop runs for each message). Every input gets exactly one reply frame that decodes as a reply envelope; every
 * input that is not a valid request gets an error reply. Handlers are stand-ins that record valid calls and
 * refuse them, so the fuzz stays in-process (the real agent over a real socket: agent-socket.test.ts).
 */
import fc from "fast-check";
import {
  IotFogError,
  agentCommandNames,
  createLogger,
  decodeReply,
  type AgentCommandName,
} from "@openiotfog/shared";
import { CommandEndpoint, type CommandHandlers } from "@openiotfog/edge-agent/endpoint/server";
import { requestFrames } from "./agent-inputs";
import { FUZZ_RUNS, FUZZ_TIMEOUT_MS, fuzzParams, watchUnhandledRejections } from "./support";

const logger = createLogger({ component: "fuzz", silent: true });
describe("fuzz: agent command endpoint (ZeroMQ envelope and every command's params)", () => {
  it(
    `${FUZZ_RUNS} generated requests: one decodable reply each, an error reply for every invalid one`,
    async () => {
      const called: AgentCommandName[] = [];
      const handlers = Object.fromEntries(
        agentCommandNames.map((name) => [
          name,
          async () => {
            called.push(name);
            throw new IotFogError("UNSUPPORTED", `stand-in handler for ${name}`);
          },
        ]),
      ) as unknown as CommandHandlers;
      const endpoint = new CommandEndpoint(
        {
          bind: "tcp://127.0.0.1:0",
          maxEnvelopeBytes: 64 * 1024,
          maxAttachmentBytes: 64 * 1024,
          replyCacheMs: 0,
          clockSkewToleranceMs: 1000,
        },
        handlers,
        logger,
      );
      const watch = watchUnhandledRejections();
      let errors = 0;
      try {
        await fc.assert(
          fc.asyncProperty(requestFrames(), async (body) => {
            const before = called.length;
            const reply = await endpoint.answer(body);
            expect(reply).toHaveLength(1);
            const decoded = decodeReply(reply[0]!);
            // Every handler refuses, so every reply is an error; a valid request is the one that reached a handler.
            expect(decoded.ok).toBe(false);
            if (!decoded.ok) {
              const reachedHandler = called.length > before;
              expect(
                decoded.error.code === "UNSUPPORTED" && decoded.error.message.startsWith("stand-in"),
              ).toBe(reachedHandler);
              if (!reachedHandler) errors += 1;
            }
          }),
          fuzzParams(),
        );
      } finally {
        watch.stop();
      }
      expect(watch.rejections).toEqual([]);
      // The generator reaches both sides: valid requests for most commands and a majority of invalid ones.
      expect(new Set(called).size).toBeGreaterThan(agentCommandNames.length / 2);
      expect(errors).toBeGreaterThan(FUZZ_RUNS / 2);
    },
    FUZZ_TIMEOUT_MS,
  );
});
