/**
 * Two agents on one broker see each other in their peer tables; when the broker restarts (an embedded aedes
 * broker, so the test can stop it) both republish their retained presence and capabilities on reconnect; a peer
 * that stops is marked offline.
 */
import { createLogger } from "@openiotfog/shared";
import { EmbeddedBroker } from "@openiotfog/cli";
import type { Agent } from "@openiotfog/edge-agent";
import { freePort, requireDocker, uniqueName, waitFor } from "../helpers/services";
import { DiscoveryWatcher, startInProcess, testAgentSetup, type TestAgentSetup } from "./agent-helpers";

const logger = createLogger({ component: "broker-test", silent: true });
let port: number;
let broker: EmbeddedBroker;
const setups: TestAgentSetup[] = [];
const agents: Agent[] = [];
let watcher: DiscoveryWatcher | undefined;

beforeAll(async () => {
  await requireDocker();
  port = await freePort();
  broker = new EmbeddedBroker("127.0.0.1", port, logger);
  await broker.start();
});

afterAll(async () => {
  await watcher?.stop();
  for (const a of agents) await a.lifecycle.stop();
  await broker.stop();
  for (const s of setups) await s.cleanup().catch(() => undefined);
});

it("peers see each other, republish after a broker restart, and see a stopped peer go offline", async () => {
  const prefix = uniqueName("iotfog-peers");
  for (let i = 0; i < 2; i++) {
    const s = await testAgentSetup({
      mqtt: { url: broker.url, topicPrefix: prefix },
      fixture: i === 0 ? "no-devices" : "zigbee-stick",
    });
    setups.push(s);
    agents.push(await startInProcess(s.config));
  }
  const [a, b] = agents as [Agent, Agent];
  const [, sb] = setups as [TestAgentSetup, TestAgentSetup];

  const seen = await waitFor(
    () => {
      const p = a.presence.peers.get(sb.nodeId);
      return p?.state === "online" && p.capabilities !== undefined && p.heartbeat !== undefined
        ? p
        : undefined;
    },
    { what: "agent A to see agent B with capabilities and a heartbeat" },
  );
  expect(seen.endpoint).toBe(sb.endpoint);
  expect(seen.capabilities?.devices.filter((d) => d.class === "zigbee")).toHaveLength(2);

  // Broker restart: a fresh broker has no retained state; the agents must put theirs back on reconnect.
  await broker.stop();
  broker = new EmbeddedBroker("127.0.0.1", port, logger);
  await broker.start();
  watcher = await DiscoveryWatcher.start(prefix, broker.url);
  const back = await watcher.waitFor(
    "presence",
    (m) => m.nodeId === sb.nodeId && m.payload.state === "online",
    {
      what: "agent B's presence on the restarted broker",
    },
  );
  expect(back.payload.reason).toBe("reconnect");
  await watcher.waitFor("capabilities", (m) => m.nodeId === sb.nodeId);

  // A graceful stop says goodbye; the peer sees it at once, not after the expiry.
  const stoppedAt = Date.now();
  await b.lifecycle.stop();
  agents.pop();
  await waitFor(() => a.presence.peers.get(sb.nodeId)?.state === "offline", { what: "agent B offline at A" });
  const bye = await watcher.waitFor(
    "presence",
    (m) => m.nodeId === sb.nodeId && m.payload.state === "offline",
    {
      since: stoppedAt,
    },
  );
  expect(bye.payload.reason).toBe("shutdown");
});
