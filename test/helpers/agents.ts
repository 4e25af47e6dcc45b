/**
 * Several real agents in this process (each with its own node id, ports, data directory and labels), for tests
 * that drive the VIM driver or the VNFM through a small fleet.
 */
import type { Agent } from "@openiotfog/edge-agent";
import { startInProcess, testAgentSetup, type TestAgentSetup } from "../integration/agent-helpers";

export interface InProcessAgents {
  setups: TestAgentSetup[];
  agents: Agent[];
  /** Node ids, in the order of the overrides. */
  nodeIds: string[];
  /** Stops every agent (idempotent). */
  stopAgents(): Promise<void>;
  /** stopAgents, then removes what each set-up created (containers by node label, retained messages, files). */
  stop(): Promise<void>;
}

/** Starts one agent per entry of `overrides` (testAgentSetup's overrides), in order. */
export async function startAgentsInProcess(
  overrides: Array<Parameters<typeof testAgentSetup>[0]>,
): Promise<InProcessAgents> {
  const setups: TestAgentSetup[] = [];
  const agents: Agent[] = [];
  const stopAgents = async (): Promise<void> => {
    for (const a of agents) await a.lifecycle.stop();
  };
  const stop = async (): Promise<void> => {
    await stopAgents();
    for (const s of setups) await s.cleanup();
  };
  try {
    for (const o of overrides) {
      const s = await testAgentSetup(o);
      setups.push(s);
      agents.push(await startInProcess(s.config));
    }
  } catch (e) {
    await stop();
    throw e;
  }
  return { setups, agents, nodeIds: setups.map((s) => s.nodeId), stopAgents, stop };
}
