import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createLogger } from "@openiotfog/shared";
import { FleetContact, PERSIST_EVERY_MS } from "../src/fencing/contact";

const logger = createLogger({ component: "test", silent: true });

describe("FleetContact: when the node last heard from the fleet", () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(path.join(os.tmpdir(), "iotfog-contact-"))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("counts silence from the last contact, and from its start when it never heard from the fleet", async () => {
    const clock = { t: 1_000_000 };
    const c = new FleetContact(dir, logger, () => clock.t);
    await c.start();
    clock.t += 4000;
    expect(c.silentForMs()).toBe(4000);
    c.heard();
    expect(c.silentForMs()).toBe(0);
    clock.t += 2500;
    expect(c.silentForMs()).toBe(2500);
    await c.stop();
  });

  it("a restarted agent counts its silence from before the restart, overstated by at most the persist period", async () => {
    const clock = { t: 1_000_000 };
    const first = new FleetContact(dir, logger, () => clock.t);
    await first.start();
    clock.t += PERSIST_EVERY_MS;
    first.heard(); // persisted: a period since the last write
    clock.t += 3000;
    first.heard(); // not persisted yet (within the period)
    clock.t += 1000;
    await first.flush();
    const killed = JSON.parse(readFileSync(first.file, "utf8")) as { lastHeard: number };
    expect(killed.lastHeard).toBe(1_000_000 + PERSIST_EVERY_MS);
    // A crash now (no stop): the next start sees the older contact, so it fences sooner, never later.
    clock.t += 60_000;
    const second = new FleetContact(dir, logger, () => clock.t);
    await second.start();
    expect(second.silentForMs()).toBe(64_000);
    // A clean stop saves the last contact itself.
    second.heard();
    const at = clock.t;
    await second.stop();
    expect((JSON.parse(readFileSync(second.file, "utf8")) as { lastHeard: number }).lastHeard).toBe(at);
  });

  it("an unreadable file is set aside and the silence counted from the start", async () => {
    writeFileSync(path.join(dir, "fleet-contact.json"), "{not json");
    const clock = { t: 5_000 };
    const c = new FleetContact(dir, logger, () => clock.t);
    await c.start();
    expect(c.silentForMs()).toBe(0);
    await c.stop();
  });
});
