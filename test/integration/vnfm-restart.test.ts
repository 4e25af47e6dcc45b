/**
 * The fog VNFM's registration life: it registers as a VNFM (vnfmManagerEndpoint) with the NFVO emulator over a
 * real RabbitMQ, registers again when the NFVO restarts with an empty database (its default create-drop store),
 * answers on its endpoint queue afterwards, and deregisters on shutdown (the NFVO drops the endpoint and the
 * RabbitMQ user). No agents: nothing here touches the fleet.
 */
import { RABBIT_ADMIN, RABBIT_MGMT_URL, rabbitManagement, uniqueName, waitFor } from "../helpers/services";
import { getQueueConsumerUsers, readVnfmError } from "../nfvo-emulator";
import type { DriverHarness } from "../nfvo-emulator/harness";
import type { NfvoWithVnfms } from "../nfvo-emulator/vnfm/nfvo-vnfm";
import { startVnfmHarness } from "../nfvo-emulator/vnfm/nsd-harness";

describe("fog VNFM: registration, NFVO restart, deregistration", () => {
  const vnfmType = uniqueName("fog");
  let h: DriverHarness;
  let nfvo: NfvoWithVnfms;

  const registrations = (): number =>
    nfvo.events.filter((e) => e.kind === "register" && e.type === vnfmType && !e.reused).length;

  beforeAll(async () => {
    ({ h, nfvo } = await startVnfmHarness({ vnfmType }));
  });

  afterAll(async () => {
    await h?.close();
  });

  it("registers with the endpoint, consumes its queue as the user the NFVO created for it, and answers on it", async () => {
    expect(nfvo.endpoints.get(vnfmType)).toMatchObject({
      type: vnfmType,
      endpoint: vnfmType,
      endpointType: "RABBIT",
    });
    // The VNFM reconnected with the credentials the registration answered: its consumer is that user's.
    const mgmt = { url: RABBIT_MGMT_URL, ...RABBIT_ADMIN };
    let consumers: string[] = [];
    // (The management API's consumer list lags by its statistics interval.)
    await waitFor(
      async () => (consumers = await getQueueConsumerUsers(mgmt, h.vhost.vhost, vnfmType)).length > 0,
      {
        what: "a consumer on the VNFM queue in the management API",
      },
    );
    expect(consumers).toEqual([vnfmType]);
    // The NFVO's ERROR is answered (go-openbaton answers null); any answer proves the endpoint is served.
    expect(
      await nfvo.sendToVnfm(vnfmType, { action: "ERROR", vnfr: { name: "probe" }, message: "probe" }),
    ).toBeNull();
    const bad = await nfvo.sendToVnfm(vnfmType, { action: "START" });
    expect(bad).toMatchObject({ action: "ERROR" });
  });

  it("answers a non-JSON message and an unknown action with the ERROR the NFVO reads, and keeps serving", async () => {
    const notJson = readVnfmError(await nfvo.sendRawToVnfm(vnfmType, "this is { not json", "(not JSON)"));
    expect(notJson.exception.detailMessage).toMatch(/message is not JSON/);
    const unknown = readVnfmError(
      await nfvo.sendToVnfm(vnfmType, {
        action: "FROBNICATE",
        vnfr: { name: "probe", parent_ns_id: "nsr-1" },
      }),
    );
    expect(unknown.exception.detailMessage).toMatch(/unsupported action "FROBNICATE"/);
    // The record and NSR it came with go back, so the NFVO can mark them ERROR.
    expect(unknown.nsrId).toBe("nsr-1");
    expect(unknown.virtualNetworkFunctionRecord).toMatchObject({ name: "probe" });
    // Still serving: a following valid message is answered.
    expect(
      await nfvo.sendToVnfm(vnfmType, { action: "ERROR", vnfr: { name: "probe" }, message: "probe" }),
    ).toBeNull();
    const start = await nfvo.sendToVnfm(vnfmType, { action: "START" });
    expect(readVnfmError(start).exception.detailMessage).toMatch(/START failed/);
  });

  it("registers again when the NFVO restarts with an empty database, and serves again", async () => {
    const before = registrations();
    const logged = h.logs.length;
    await nfvo.stop({ removeUsers: false });
    nfvo.forgetDatabase();
    // Started again once the VNFM has seen it gone (a real NFVO takes tens of seconds).
    await h.waitForLog({ message: /NFVO stopped consuming/, part: "vnfm" }, logged);
    await nfvo.start();
    await waitFor(() => registrations() > before, {
      timeoutMs: 20000,
      what: "VNFM registration after the restart",
    });
    await nfvo.waitForVnfm(vnfmType);
    expect(
      await nfvo.sendToVnfm(vnfmType, { action: "ERROR", vnfr: { name: "probe" }, message: "probe" }),
    ).toBeNull();
  });

  it("deregisters on shutdown: the NFVO drops the endpoint and the VNFM's RabbitMQ user", async () => {
    await h.stopDriver();
    await waitFor(() => nfvo.events.some((e) => e.kind === "deregister" && e.username === vnfmType), {
      what: "VNFM deregistration",
    });
    expect(nfvo.endpoints.has(vnfmType)).toBe(false);
    const user = await rabbitManagement("GET", `/api/users/${encodeURIComponent(vnfmType)}`);
    expect(user.status).toBe(404);
  });
});
