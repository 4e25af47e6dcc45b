/**
 * An agent restarted in the same process (same config, same keys, same endpoint) answers over CurveZMQ again.
 * libzmq sends a socket's monitor events with a blocking send from the context's I/O thread: when the reader of
 * a CURVE server's monitor was closed before the socket, the socket's last events (its listener closing, a
 * client leaving) blocked that thread, and the next agent's ROUTER in the context never accepted a connection
 * (no handshake, no refusal logged). Real agents restart their components the same way (`iotfog up`, tests).
 */
import { AgentClient } from "@openiotfog/shared";
import { requireDocker, requireMqtt } from "../helpers/services";
import { startInProcess, testAgentSetup } from "./agent-helpers";

describe("CurveZMQ across an agent restart in one process", () => {
  it("the restarted agent answers a client with the same keys, with a client still connected at the stop", async () => {
    await requireDocker();
    await requireMqtt();
    const setup = await testAgentSetup({ hardware: { bind: "tcp://127.0.0.1:*", udev: false } });
    const client = (): AgentClient =>
      new AgentClient({ endpoint: setup.endpoint, timeoutMs: 5000, retries: 0, curve: setup.curve });
    try {
      for (let round = 1; round <= 3; round++) {
        const agent = await startInProcess(setup.config);
        const leaving = client();
        const staying = client();
        try {
          expect((await leaving.call("ping", {})).nodeId).toBe(setup.nodeId);
          expect((await staying.call("ping", {})).nodeId).toBe(setup.nodeId);
          // One client leaves before the stop, one is still connected while the agent closes its sockets.
          await leaving.close();
        } finally {
          await agent.lifecycle.stop();
          await staying.close();
        }
      }
    } finally {
      await setup.cleanup();
    }
  });
});
