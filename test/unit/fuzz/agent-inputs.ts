/**
 * Generated requests for the agent's command endpoint: mutations of one valid envelope per command, envelopes with
 * arbitrary params, JSON that is no envelope, raw bytes and wrong frame counts. Shared by the in-process fuzz
 * (agent-envelope.test.ts) and the real-socket run against a real agent (test/integration/agent-fuzz.test.ts).
 */
import fc from "fast-check";
import { PROTOCOL_VERSION, agentCommandNames, type AgentCommandName } from "@openiotfog/shared";
import { anyJson, inputsLike, nastyString } from "./support";

const SHA = "a".repeat(64);
const TRANSFER = "0123456789abcdef0123456789abcdef";

/** One valid params object per command; the fuzz mutates these. */
export const validParams: Record<AgentCommandName, unknown> = {
  ping: {},
  capabilities: { refresh: true },
  deploy: {
    deploymentId: "svc-a-0",
    spec: {
      name: "svc-a",
      image: "openiotfog/testbox:latest",
      command: ["sleep", "1"],
      env: { A: "1" },
      ports: [{ container: 80, host: 8080 }],
      devices: [{ class: "zigbee" }],
      resources: { memoryBytes: 1000000 },
      constraints: ["node.labels.zone == a"],
    },
    replica: 0,
    devices: [],
    networks: [{ name: "net-a", aliases: ["a"] }],
    forward: { allowed: true, hopLimit: 2, visited: ["n1"] },
  },
  start: { deploymentId: "svc-a-0" },
  stop: { deploymentId: "svc-a-0", timeoutSeconds: 5 },
  remove: { deploymentId: "svc-a-0", timeoutSeconds: 5 },
  list: {},
  inspect: { deploymentId: "svc-a-0" },
  logs: { deploymentId: "svc-a-0", tail: 10, timestamps: true },
  "images.list": {},
  "images.import.begin": { sizeBytes: 10, sha256: SHA },
  "images.import.chunk": { transferId: TRANSFER, offset: 0 },
  "images.import.commit": { transferId: TRANSFER },
  "images.import.abort": { transferId: TRANSFER },
  "images.pull": { image: "busybox:latest" },
  "images.export.begin": { image: "busybox:latest" },
  "images.export.chunk": { transferId: TRANSFER, offset: 0 },
  "images.export.end": { transferId: TRANSFER },
  "networks.list": {},
  "networks.create": { name: "net-a", driver: "bridge", subnet: "172.28.0.0/16", gateway: "172.28.0.1" },
  "networks.remove": { name: "net-a" },
  "labels.set": { set: { zone: "a" }, remove: ["old"] },
  // Well-formed, but signed by no fleet key the agent trusts: refused with UNAUTHORIZED.
  "trust.update": {
    trust: { fleetKeys: ["x".repeat(40)], peers: [{ nodeId: "n1", publicKey: "y".repeat(40) }], issuedAt: 1 },
    mac: SHA,
  },
};

const envelope = (command: string, params: unknown) => ({
  v: PROTOCOL_VERSION,
  id: "req-1",
  deadline: Date.now() + 3_600_000,
  command,
  params,
});

/** Frames after the ROUTER identity: a mutated valid request, JSON that is not one, raw bytes, wrong counts. */
export function requestFrames(
  commands: readonly AgentCommandName[] = agentCommandNames,
): fc.Arbitrary<Buffer[]> {
  return fc.oneof(
    {
      weight: 6,
      arbitrary: fc
        .constantFrom(...commands)
        .chain((command) => inputsLike(envelope(command, validParams[command])))
        .map((v) => [Buffer.from(JSON.stringify(v) ?? "null")]),
    },
    {
      weight: 2,
      arbitrary: fc
        .tuple(fc.oneof(fc.constantFrom(...commands), nastyString), anyJson)
        .map(([command, params]) => [Buffer.from(JSON.stringify(envelope(command, params)))]),
    },
    { weight: 1, arbitrary: anyJson.map((v) => [Buffer.from(JSON.stringify(v) ?? "")]) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map((b) => [Buffer.from(b)]) },
    {
      weight: 1,
      arbitrary: fc.array(
        fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)),
        { minLength: 0, maxLength: 4 },
      ),
    },
  );
}
