/**
 * Fuzz of the fog VNFM's boundary (AMQP messages from the NFVO): bodies through the real VnfManager.handle
 * (decoding, the action dispatch and each action's message schema). Every body gets an answer the NFVO can read
 * (a message with an action, ERROR with a non-empty exception for anything invalid) or the documented null of
 * ERROR and SCALE_IN; handle never rejects. The NFVO and fleet ports are stand-ins that refuse every call.
 */
import fc from "fast-check";
import { IotFogError, createLogger } from "@openiotfog/shared";
import { VnfManager } from "@openiotfog/vim-driver/vnfm/manager";
import type { Json } from "@openiotfog/vim-driver/vnfm/messages";
import type { FogPort, NfvoPort } from "@openiotfog/vim-driver/vnfm/ports";
import { encodeUserdata } from "@openiotfog/vim-driver/vnfm/userdata";
import {
  FUZZ_RUNS,
  FUZZ_TIMEOUT_MS,
  anyJson,
  fuzzParams,
  inputsLike,
  nastyString,
  watchUnhandledRejections,
} from "./support";

const logger = createLogger({ component: "fuzz", silent: true });

const refuse = async (): Promise<never> => {
  throw new IotFogError("UNAVAILABLE", "stand-in port");
};
const nfvo: NfvoPort = { call: refuse, notify: async () => undefined };
const fog: FogPort = {
  applyEnv: refuse,
  start: refuse,
  stop: refuse,
  heal: refuse,
  remove: refuse,
  status: refuse,
};

const vnfd = {
  id: "vnfd-a",
  name: "svc-a",
  type: "server",
  endpoint: "fog",
  vdu: [
    {
      id: "vdu-a",
      vm_image: ["busybox:latest"],
      vnfc: [{ id: "c-a", connection_point: [{ virtual_link_reference: "net" }] }],
      metadata: [{ key: "FOG_ENV", value: "A=1" }],
    },
  ],
  virtual_link: [{ name: "net" }],
  configurations: { name: "c", configurationParameters: [{ confKey: "A", value: "1" }] },
};
const vnfr = {
  id: "vnfr-1",
  name: "svc-a",
  type: "server",
  parent_ns_id: "nsr-1",
  endpoint: "fog",
  vdu: [
    {
      id: "vdu-1",
      parent_vdu: "vdu-a",
      vm_image: ["busybox:latest"],
      vnfc: [{ id: "c-1" }],
      vnfc_instance: [
        {
          id: "i-1",
          vc_id: "node-a:ob.fog.c1",
          hostname: "svc-a-1",
          state: "ACTIVE",
          vnfComponent: { id: "c-1" },
        },
      ],
    },
  ],
  configurations: { configurationParameters: [] },
};
const samples: Json[] = [
  {
    action: "INSTANTIATE",
    vnfd,
    vnfdf: { flavour_key: "m1.small" },
    extension: { "nsr-id": "nsr-1" },
    vimInstances: { "vdu-a": [{ name: "fog-vim", type: "docker.fog" }] },
    keys: [],
  },
  {
    action: "MODIFY",
    vnfr,
    vnfrd: { target: "server", parameters: { "server.A": { parameters: { A: "2" } } }, idType: {} },
  },
  { action: "START", virtualNetworkFunctionRecord: vnfr },
  { action: "STOP", virtualNetworkFunctionRecord: vnfr },
  { action: "START", virtualNetworkFunctionRecord: vnfr, vnfcInstance: vnfr.vdu[0]!.vnfc_instance[0] },
  { action: "RELEASE_RESOURCES", vnfr },
  { action: "SCALE_OUT", virtualNetworkFunctionRecord: vnfr, component: { id: "c-2" }, mode: "ACTIVE" },
  { action: "SCALE_IN", virtualNetworkFunctionRecord: vnfr, vnfcInstance: vnfr.vdu[0]!.vnfc_instance[0] },
  {
    action: "HEAL",
    virtualNetworkFunctionRecord: vnfr,
    vnfcInstance: vnfr.vdu[0]!.vnfc_instance[0],
    cause: "x",
  },
  { action: "ERROR", vnfr, message: "boom" },
  { action: "CONFIGURE", vnfr },
];

const body: fc.Arbitrary<string> = fc.oneof(
  { weight: 8, arbitrary: inputsLike(...samples).map((v) => JSON.stringify(v) ?? "") },
  { weight: 1, arbitrary: fc.record({ action: nastyString, vnfr: anyJson }).map((v) => JSON.stringify(v)) },
  { weight: 1, arbitrary: nastyString },
);

describe("fuzz: VNFM messages from the NFVO (AMQP)", () => {
  it(
    `${FUZZ_RUNS} generated messages: handle never rejects; a readable answer, ERROR for every invalid one`,
    async () => {
      const vnfm = new VnfManager({ nfvo, fog, encodeUserdata, logger });
      const watch = watchUnhandledRejections();
      const answered = new Map<string, number>();
      try {
        await fc.assert(
          fc.asyncProperty(body, async (b) => {
            const reply = await vnfm.handle(b);
            if (reply === null) return;
            expect(typeof reply.action).toBe("string");
            expect(JSON.parse(JSON.stringify(reply))).toEqual(reply);
            if (reply.action === "ERROR") {
              const detail = (reply.exception as { detailMessage?: unknown }).detailMessage;
              expect(typeof detail === "string" && detail.trim() !== "").toBe(true);
            }
            answered.set(String(reply.action), (answered.get(String(reply.action)) ?? 0) + 1);
          }),
          fuzzParams(),
        );
      } finally {
        watch.stop();
      }
      expect(watch.rejections).toEqual([]);
      expect(answered.get("ERROR") ?? 0).toBeGreaterThan(FUZZ_RUNS / 2);
    },
    FUZZ_TIMEOUT_MS,
  );
});
