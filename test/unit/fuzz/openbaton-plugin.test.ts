/**
 * Fuzz of the Open Baton plugin boundary (AMQP): request bodies through the real dispatcher (JSON, the
 * PluginMessage shape, overload resolution by name and parameter count, every parameter's schema). Every body
 * gets a reply the NFVO can read: an exception naming the problem for anything invalid. The VIM operations are
 * stand-ins that record valid calls and refuse them, so the fuzz stays in-process.
 */
import fc from "fast-check";
import { IotFogError, createLogger } from "@openiotfog/shared";
import { prepareRequest } from "@openiotfog/vim-driver/openbaton/dispatcher";
import { METHODS, type VimOperations } from "@openiotfog/vim-driver/openbaton/methods";
import { encodeReply } from "@openiotfog/vim-driver/openbaton/protocol";
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

const network = { name: "net-a", extId: "net-a", subnets: [{ name: "s", cidr: "172.28.0.0/16" }] };
/** A valid value for each parameter name the 29 methods use. */
const sampleParam: Record<string, unknown> = {
  vim: { type: "openiotfog", name: "fog", id: "vim-1", metadata: { a: "b" }, images: [], networks: [] },
  hostname: "vnfc-1",
  image: { name: "busybox", extId: "sha256:abc", minDiskSpace: 0 },
  flavor: { flavour_key: "m1.small", ram: 512, vcpus: 1, disk: 1 },
  keyPair: "",
  networks: [{ virtual_link_reference: "net-a", floatingIp: null }],
  securityGroups: ["default"],
  userdata: "#!/bin/sh\n",
  floatingIps: { "net-a": "random" },
  keys: [{ name: "k", publicKey: "ssh-ed25519 AAAA" }],
  id: "node-a:ob.fog.c1",
  network,
  extId: "net-a",
  image_url: "http://host/img.tar",
  imageFile: "aGVsbG8=",
  imageRepoToken: "tok",
  createdNetwork: network,
  updatedNetwork: network,
  subnet: { name: "s", cidr: "172.28.0.0/16", networkId: "net-a" },
  network_extId: "net-a",
  existingSubnetExtId: "s",
  serverId: "node-a:ob.fog.c1",
  imageId: "busybox",
};

const validRequests = METHODS.map((m) => ({
  methodName: m.name,
  parameters: m.params.map((p) => {
    // launchInstance's `image` is the image's extId (a string), the image methods' is an object.
    if (p === "image" && m.name.startsWith("launch")) return "busybox";
    if (p === "flavor" && m.name.startsWith("launch")) return "m1.small";
    return sampleParam[p];
  }),
}));

const body: fc.Arbitrary<Buffer> = fc.oneof(
  { weight: 8, arbitrary: inputsLike(...validRequests).map((v) => Buffer.from(JSON.stringify(v) ?? "")) },
  {
    weight: 1,
    arbitrary: fc
      .record({
        methodName: fc.oneof(fc.constantFrom(...METHODS.map((m) => m.name)), nastyString),
        parameters: anyJson,
      })
      .map((v) => Buffer.from(JSON.stringify(v))),
  },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)) },
);

describe("fuzz: Open Baton plugin requests (AMQP)", () => {
  it(
    `${FUZZ_RUNS} generated request bodies: a readable reply each, an exception for every invalid one`,
    async () => {
      const called: string[] = [];
      const ops = new Proxy({} as VimOperations, {
        get: (_t, name) => async () => {
          called.push(String(name));
          throw new IotFogError("UNAVAILABLE", "stand-in VIM operation");
        },
      });
      const watch = watchUnhandledRejections();
      let invalid = 0;
      try {
        await fc.assert(
          fc.asyncProperty(body, async (b) => {
            const before = called.length;
            const job = prepareRequest(b, ops, logger);
            const reply = await job.run();
            expect(JSON.parse(encodeReply(reply).toString("utf8"))).toEqual(reply);
            // Every operation refuses, so every reply is an exception; a valid request is one that reached it.
            expect("exception" in reply).toBe(true);
            if ("exception" in reply) {
              const reached = called.length > before;
              expect(reply.exception.detailMessage === "stand-in VIM operation").toBe(reached);
              expect(reply.exception.detailMessage.trim()).not.toBe("");
              if (!reached) invalid += 1;
            }
          }),
          fuzzParams(),
        );
      } finally {
        watch.stop();
      }
      expect(watch.rejections).toEqual([]);
      expect(new Set(called).size).toBeGreaterThan(15);
      expect(invalid).toBeGreaterThan(FUZZ_RUNS / 2);
    },
    FUZZ_TIMEOUT_MS,
  );
});
