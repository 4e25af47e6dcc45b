/**
 * The fog VNFM's registration life: it registers as a VNFM (vnfmManagerEndpoint) with the NFVO emulator over a
 * real RabbitMQ, registers again when the NFVO restarts with an empty database (its default create-drop store),
 * answers on its endpoint queue afterwards, and deregisters on shutdown (the NFVO drops the endpoint and the
 * RabbitMQ user). No agents: nothing here touches the fleet.
 */
import { rabbitManagement, uniqueName, waitFor } from "../helpers/services";
import { managerPermissions } from "../nfvo-emulator";
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

  it("registers with the endpoint, gets the NFVO's permissions for it, and answers on its queue", async () => {
    expect(nfvo.endpoints.get(vnfmType)).toMatchObject({
      type: vnfmType,
      endpoint: vnfmType,
      endpointType: "RABBIT",
    });
    const perms = await rabbitManagement(
      "GET",
      `/api/permissions/${encodeURIComponent(h.vhost.vhost)}/${encodeURIComponent(vnfmType)}`,
    );
    expect(perms.json).toMatchObject(managerPermissions(vnfmType));
    // The NFVO's ERROR is answered (go-openbaton answers null); any answer proves the endpoint is served.
    expect(
      await nfvo.sendToVnfm(vnfmType, { action: "ERROR", vnfr: { name: "probe" }, message: "probe" }),
    ).toBeNull();
    const bad = await nfvo.sendToVnfm(vnfmType, { action: "START" });
    expect(bad).toMatchObject({ action: "ERROR" });
  });

  it("registers again when the NFVO restarts with an empty database, and serves again", async () => {
    const before = registrations();
    await nfvo.stop({ removeUsers: false });
    nfvo.forgetDatabase();
    await new Promise((r) => setTimeout(r, 1500));
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
