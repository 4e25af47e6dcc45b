import type { AgentClient } from "@openiotfog/shared";
import type { FleetNode } from "./types";

/** What the deploy path needs of the fleet view. */
export interface NodeDirectory {
  nodes(): FleetNode[];
  node(nodeId: string): FleetNode | undefined;
}

/** What the deploy path needs of the agent pool (the one place AgentClients are made: fleet/agents.ts). */
export interface AgentDirectory {
  client(nodeId: string): AgentClient;
}
