/**
 * Fuzz of the MQTT discovery boundary: presence, capabilities, heartbeat, event and usage payloads on node
 * topics, as the agent's peer table and the driver's fleet view receive them. parseNodeMessage either ignores a
 * topic outside the scheme, returns a validated message, or throws IotFogError naming the topic; neither
 * consumer throws, and the fleet view keeps answering.
 */
import fc from "fast-check";
import { IotFogError, createLogger, nodeTopic, parseNodeMessage } from "@openiotfog/shared";
import { PeerTable } from "@openiotfog/edge-agent/presence/peers";
import { EventLog } from "@openiotfog/vim-driver/fleet/events";
import { FleetView } from "@openiotfog/vim-driver/fleet/fleet-view";
import {
  capabilitiesMessage,
  heartbeatMessage,
  presenceMessage,
} from "../../../vim-driver/test/fleet/fixtures";
import {
  FUZZ_RUNS,
  FUZZ_TIMEOUT_MS,
  fuzzParams,
  inputsLike,
  nastyString,
  watchUnhandledRejections,
} from "./support";

const PREFIX = "fz";
const logger = createLogger({ component: "fuzz", silent: true });

const samples = {
  presence: JSON.parse(presenceMessage("n1", "online", { endpoint: "tcp://10.0.0.1:5555" })) as unknown,
  capabilities: JSON.parse(
    capabilitiesMessage("n1", {
      devices: [{ id: "zb-1", class: "zigbee", path: "/dev/ttyUSB0", vendorId: "10c4", productId: "ea60" }],
      labels: { zone: "a" },
      protocols: ["zigbee"],
      software: [{ name: "docker", version: "24.0.7" }],
    }),
  ) as unknown,
  heartbeat: JSON.parse(heartbeatMessage("n1", { memoryBytes: 1e9, diskBytes: 1e9 })) as unknown,
  events: {
    v: 1,
    nodeId: "n1",
    ts: 1,
    sessionId: "s1",
    type: "deployment.started",
    data: { deploymentId: "d" },
  },
  usage: {
    v: 1,
    nodeId: "n1",
    ts: 1,
    sessionId: "s1",
    intervalMs: 10000,
    node: { cpuBusyCores: 0.5, cpuCores: 4, memoryUsedBytes: 1e9, memoryTotalBytes: 4e9 },
    containers: [
      { deploymentId: "d.s.0", cpuCores: 0.1, memoryBytes: 5e6, memoryLimitBytes: 6e7, restarts: 0 },
    ],
  },
};
type Kind = keyof typeof samples;

const message: fc.Arbitrary<{ topic: string; payload: string }> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.constantFrom(...(Object.keys(samples) as Kind[])).chain((kind) =>
      fc.record({
        topic: fc.constantFrom("n1", "n2", "n3").map((node) => nodeTopic(PREFIX, node, kind)),
        payload: inputsLike(samples[kind]).map((v) => JSON.stringify(v) ?? ""),
      }),
    ),
  },
  {
    weight: 1,
    arbitrary: fc.record({ topic: nastyString.map((t) => `${PREFIX}/${t}`), payload: nastyString }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      topic: fc.constantFrom(...(Object.keys(samples) as Kind[])).map((k) => nodeTopic(PREFIX, "n1", k)),
      payload: fc.oneof(fc.constant(""), nastyString),
    }),
  },
);

describe("fuzz: MQTT discovery payloads", () => {
  it(
    `${FUZZ_RUNS} generated messages: validated or refused with IotFogError; the peer table and fleet view never throw`,
    async () => {
      const peers = new PeerTable("self", 3000, { maxPeers: 100, logger });
      const view = new FleetView({
        mqttUrl: "mqtt://unused",
        topicPrefix: PREFIX,
        nodeExpiryMs: 3000,
        events: new EventLog(),
        logger,
        maxNodes: 100,
      });
      let changes = 0;
      view.onChange(() => (changes += 1));
      const watch = watchUnhandledRejections();
      const seen = { valid: 0, refused: 0 };
      try {
        fc.assert(
          fc.property(message, ({ topic, payload }) => {
            let parsed;
            try {
              parsed = parseNodeMessage(PREFIX, topic, Buffer.from(payload));
            } catch (e) {
              expect(e).toBeInstanceOf(IotFogError);
              expect((e as IotFogError).message).toContain(topic);
              seen.refused += 1;
            }
            if (parsed !== undefined) {
              seen.valid += 1;
              peers.apply(parsed, Date.now());
            }
            view.onMessage(topic, Buffer.from(payload));
            view.expire();
            peers.sweep(Date.now());
            view.node("n1");
          }),
          fuzzParams(),
        );
      } finally {
        watch.stop();
      }
      // Valid messages reached the view (it reports every change of a node).
      expect(changes).toBeGreaterThan(FUZZ_RUNS / 100);
      await new Promise((r) => setImmediate(r));
      expect(watch.rejections).toEqual([]);
      expect(seen.valid).toBeGreaterThan(FUZZ_RUNS / 20);
      expect(seen.refused).toBeGreaterThan(FUZZ_RUNS / 2);
    },
    FUZZ_TIMEOUT_MS,
  );
});
