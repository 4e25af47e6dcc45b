/**
 * The fuzz of the agent's command endpoint over a real socket, to a real agent (real Docker engine, real MQTT):
 * a few hundred generated requests from the same generator as the in-process fuzz (test/unit/fuzz), each
 * answered with exactly one reply; afterwards the agent still answers a normal client. Commands that would touch
 * what other tests share (Docker networks, image pulls from a registry) are left to the in-process fuzz.
 */
import fc from "fast-check";
import { Dealer } from "zeromq";
import {
  AgentClient,
  agentCommandNames,
  curveClientOptions,
  decodeReply,
  type AgentCommandName,
} from "@openiotfog/shared";
import type { Agent } from "@openiotfog/edge-agent";
import { requireDocker, requireMqtt } from "../helpers/services";
import { requestFrames } from "../unit/fuzz/agent-inputs";
import { startInProcess, testAgentSetup, type TestAgentSetup } from "./agent-helpers";

/** Inputs sent over the socket. */
const SOCKET_RUNS = 300;
const SHARED_STATE: readonly AgentCommandName[] = ["networks.create", "networks.remove", "images.pull"];

jest.setTimeout(240_000);

let setup: TestAgentSetup;
let agent: Agent;

beforeAll(async () => {
  await requireMqtt();
  await requireDocker();
  setup = await testAgentSetup({
    zmq: { maxEnvelopeBytes: 64 * 1024, maxAttachmentBytes: 64 * 1024 },
    runtime: { pullMissingImages: false },
  });
  agent = await startInProcess(setup.config);
});

afterAll(async () => {
  await agent?.lifecycle.stop();
  await setup?.cleanup();
});

it(`fuzz over a real socket: ${SOCKET_RUNS} generated requests to a real agent, one reply each, and it keeps serving`, async () => {
  // The fleet's keys: the fuzz is about what an admitted client can send (the unkeyed one gets nothing at all).
  const raw = new Dealer({
    linger: 0,
    receiveTimeout: 60_000,
    ...curveClientOptions(setup.curve, setup.curve.serverKey),
  });
  raw.connect(setup.endpoint);
  const commands = agentCommandNames.filter((c) => !SHARED_STATE.includes(c));
  let errors = 0;
  try {
    await fc.assert(
      fc.asyncProperty(requestFrames(commands), async (frames) => {
        await raw.send(frames.length === 0 ? [Buffer.alloc(0)] : frames);
        const reply = await raw.receive();
        expect(reply).toHaveLength(1);
        const decoded = decodeReply(reply[0]!);
        if (!decoded.ok) {
          expect(decoded.error.message).not.toBe("");
          errors += 1;
        }
      }),
      { numRuns: SOCKET_RUNS, seed: 0x10f0, endOnFailure: true },
    );
  } finally {
    raw.close();
  }
  expect(errors).toBeGreaterThan(SOCKET_RUNS / 2);
  const client = new AgentClient({
    endpoint: setup.endpoint,
    timeoutMs: 5000,
    retries: 0,
    curve: setup.curve,
  });
  try {
    await expect(client.call("ping", {})).resolves.toMatchObject({ nodeId: setup.config.nodeId });
  } finally {
    await client.close();
  }
});
