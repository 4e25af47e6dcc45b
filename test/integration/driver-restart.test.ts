/**
 * The real RabbitMQ restarted under a serving driver with its fog VNFM (`rabbitmqctl stop_app` / `start_app`,
 * which keeps the node, its users and vhosts): both register again, re-declare their queues and serve the NFVO
 * again. In its own file because restarting the broker disturbs anything else using it (CI runs integration tests
 * in band).
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { requireRabbitMq, uniqueName, waitFor } from "../helpers/services";
import type { DriverHarness } from "../nfvo-emulator/harness";
import type { NfvoWithVnfms } from "../nfvo-emulator/vnfm/nfvo-vnfm";
import { startVnfmHarness } from "../nfvo-emulator/vnfm/nsd-harness";

const run = promisify(execFile);

async function rabbitmqctl(...args: string[]): Promise<void> {
  try {
    await run("rabbitmqctl", args, { timeout: 60000 });
  } catch (e) {
    throw new Error(
      `rabbitmqctl ${args.join(" ")} failed (is it on PATH and may this user run it?): ${(e as Error).message}`,
    );
  }
}

describe("driver: RabbitMQ restarted mid-run", () => {
  const vnfmType = uniqueName("fog");
  let h: DriverHarness;
  let nfvo: NfvoWithVnfms;

  beforeAll(async () => {
    ({ h, nfvo } = await startVnfmHarness({ vnfmType }));
  });

  afterAll(async () => {
    await h?.close();
  });

  it("re-registers, re-declares its queue and serves again; so does the VNFM", async () => {
    expect(await h.emulator.call(h.vim, "getType", [], "String")).toBe("docker");
    // The plugin's registrations only: the VNFM's are counted on their own (they interleave with these).
    const pluginRegistrations = (): Array<{ kind: string }> =>
      h.emulator.events.filter((e) => e.kind === "register" && e.type === h.pluginId);
    const registrations = pluginRegistrations().length;
    const vnfmRegistrations = (): number =>
      nfvo.events.filter((e) => e.kind === "register" && e.type === vnfmType).length;
    const vnfmBefore = vnfmRegistrations();

    await rabbitmqctl("stop_app");
    try {
      await rabbitmqctl("start_app");
    } finally {
      // Whatever happened, leave the broker running for the rest of the suite.
      await rabbitmqctl("await_startup").catch(() => rabbitmqctl("start_app"));
    }
    await waitFor(() => requireRabbitMq().then(() => true), { timeoutMs: 30000, what: "RabbitMQ back" });

    await h.waitServing(30000);
    // The first calls may race the re-declaration; the NFVO would retry the user's action the same way.
    const type = await waitFor(() => h.emulator.call(h.vim, "getType", [], "String").catch(() => undefined), {
      timeoutMs: 30000,
      what: "the driver answering after the restart",
    });
    expect(type).toBe("docker");
    // It asked the NFVO again (which still knew it: same credentials, as a real NFVO that kept running).
    const after = pluginRegistrations();
    expect(after.length).toBeGreaterThan(registrations);
    expect(after[after.length - 1]).toEqual({ kind: "register", type: h.pluginId, reused: true });
    expect(await h.emulator.call(h.vim, "listFlavors", [], "List<DeploymentFlavour>")).toHaveLength(1);

    // The VNFM registered again on nfvo.manager.handling and answers on its endpoint queue.
    await waitFor(() => vnfmRegistrations() > vnfmBefore, {
      timeoutMs: 30000,
      what: "VNFM registration after the broker restart",
    });
    await nfvo.waitForVnfm(vnfmType);
    const answer = await waitFor(
      () =>
        nfvo
          .sendToVnfm(vnfmType, { action: "START" })
          .then((a) => a ?? undefined)
          .catch(() => undefined),
      { timeoutMs: 30000, what: "the VNFM answering after the broker restart" },
    );
    expect(answer).toMatchObject({ action: "ERROR" });
  });
});
