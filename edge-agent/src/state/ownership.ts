/** For readJsonOrSetAside: a file another node wrote (a copied data directory) is not ours to use. */
export function ownedBy<T extends { nodeId: string }>(nodeId: string, parsed: T): T {
  if (parsed.nodeId !== nodeId)
    throw new Error(`it belongs to node ${parsed.nodeId}, this agent is ${nodeId}`);
  return parsed;
}
