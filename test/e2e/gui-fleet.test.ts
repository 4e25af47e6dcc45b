/**
 * The web GUI in a real browser: Debian's Chromium driven by playwright-core, against a running stack (driver
 * side serving API + GUI, two agents on real Mosquitto and real Docker engines). The fleet view shows both
 * agents; a hot-plugged ZigBee stick appears live (card and event feed, no reload); deploying a blueprint from
 * the form shows where it landed; an unsatisfiable blueprint shows its explanation; a node that dies turns
 * offline live. Screenshots go to test-artifacts/screenshots/.
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { blueprint, startOpsStack, ROOT, type OpsStack } from "./ops-stack";

const CHROMIUM = "/usr/bin/chromium";
const SHOTS = path.join(ROOT, "test-artifacts/screenshots");

let stack: OpsStack;
let context: BrowserContext;
let page: Page;
let profile: string;
const pageErrors: string[] = [];

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  stack = await startOpsStack("gui");
  profile = mkdtempSync(path.join(os.tmpdir(), "iotfog-chromium-"));
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1400, height: 1000 },
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
  } catch (e) {
    throw new Error(
      `cannot start Chromium at ${CHROMIUM} (installed by scripts/setup.sh: apt-get install chromium): ${(e as Error).message}`,
    );
  }
  page = context.pages()[0] ?? (await context.newPage());
  page.on("pageerror", (e) => pageErrors.push(e.message));
  // The GUI must never reach beyond its own origin.
  page.on("request", (r) => {
    if (!r.url().startsWith(stack.apiUrl) && !r.url().startsWith("data:"))
      pageErrors.push(`external request ${r.url()}`);
  });
  await page.goto(`${stack.apiUrl}/#token=${stack.token}`);
});

afterAll(async () => {
  await context?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
  await stack?.stop();
});

afterEach(() => {
  // Emptied after each test: a page error fails the test it happened in, not every later one.
  expect(pageErrors.splice(0)).toEqual([]);
});

const card = (nodeId: string) => page.locator(`#nodes [data-node-id="${nodeId}"]`);

async function deployFromForm(text: string): Promise<void> {
  await page.fill("#blueprint", text);
  await page.click("#deploy-button");
  await page.locator('#deploy-result[data-outcome="ok"], #deploy-result[data-outcome="fail"]').waitFor();
}

describe("web GUI in headless Chromium", () => {
  it("shows both agents as cards with arch, resources, labels and online state", async () => {
    await card(stack.agentA.nodeId).waitFor();
    await card(stack.agentB.nodeId).waitFor();
    expect(await page.locator("#nodes [data-node-id]").count()).toBe(2);
    for (const agent of [stack.agentA, stack.agentB]) {
      const c = card(agent.nodeId);
      expect(await c.getAttribute("data-online")).toBe("true");
      await expect(c.locator(".status").textContent()).resolves.toBe("online");
      await expect(c.locator(".meta").first().textContent()).resolves.toMatch(/linux\/(amd64|arm64|arm)/);
      await expect(c.locator(".res").textContent()).resolves.toMatch(/cores free.*GiB/);
      await expect(c.locator(".labels").textContent()).resolves.toContain(`zone=${agent.labels.zone}`);
    }
    // The token moved from the address bar to session storage.
    expect(page.url()).not.toContain("token");
    await expect(page.locator("#stream-state").textContent()).resolves.toBe("live");
    await page.screenshot({ path: path.join(SHOTS, "gui-fleet.png"), fullPage: true });
  });

  it("shows a hot-plugged ZigBee stick live: on the node's card and in the event feed, without a reload", async () => {
    await page.evaluate(() => ((globalThis as unknown as { sameDocument: boolean }).sameDocument = true));
    stack.plugIn("zigbee-stick");
    const event = page.locator('#events li[data-type="device.attached"]', { hasText: stack.agentA.nodeId });
    await event.first().waitFor({ timeout: 20000 });
    await expect(event.first().textContent()).resolves.toContain("device attached");
    const device = card(stack.agentA.nodeId).locator(".chip.device", { hasText: "zigbee" });
    await device.first().waitFor({ timeout: 10000 });
    expect(
      await page.evaluate(() => (globalThis as unknown as { sameDocument?: boolean }).sameDocument),
    ).toBe(true);
    await expect(card(stack.agentB.nodeId).locator(".devices").textContent()).resolves.toBe("none");
    await page.screenshot({ path: path.join(SHOTS, "gui-device-attached.png"), fullPage: true });
  });

  it("deploys a blueprint from the form and shows where it landed", async () => {
    await deployFromForm(blueprint({ name: "gui-demo", constraints: ["node.labels.cell == press"] }));
    const result = page.locator("#deploy-result");
    expect(await result.getAttribute("data-outcome")).toBe("ok");
    await expect(result.locator("h3").textContent()).resolves.toBe("Deployed gui-demo");
    await expect(
      result.locator(`li.placed[data-node-id="${stack.agentA.nodeId}"]`).textContent(),
    ).resolves.toMatch(new RegExp(`gui-demo#0 → ${stack.agentA.nodeId} \\(running`));
    const row = page.locator(`#deployments tr[data-deployment-id="gui-demo"]`);
    await row.waitFor();
    await expect(row.locator("td.node").textContent()).resolves.toBe(stack.agentA.nodeId);
    await card(stack.agentA.nodeId).locator(".chip.replica", { hasText: "gui-demo/gui-demo#0" }).waitFor();
    await page.screenshot({ path: path.join(SHOTS, "gui-deployed.png"), fullPage: true });
  });

  it("shows the explanation of an unsatisfiable blueprint: every failed predicate on every node", async () => {
    await deployFromForm(
      blueprint({
        name: "gui-nowhere",
        constraints: ["node.labels.zone == line-9"],
        memory: "64TiB",
      }),
    );
    const result = page.locator("#deploy-result");
    expect(await result.getAttribute("data-outcome")).toBe("fail");
    await expect(result.locator("h3").textContent()).resolves.toBe(
      "Cannot place this blueprint: nothing was started",
    );
    for (const agent of [stack.agentA, stack.agentB]) {
      const node = result.locator(`.node-explanation[data-node-id="${agent.nodeId}"]`);
      const failures = await node.locator("li.failure").allTextContents();
      expect(
        failures.some(
          (f) => f.includes("node.labels.zone == line-9") && f.includes(`seen: ${agent.labels.zone}`),
        ),
      ).toBe(true);
      expect(failures.some((f) => f.includes("memory"))).toBe(true);
    }
    expect(await page.locator('#deployments tr[data-deployment-id="gui-nowhere"]').count()).toBe(0);
    await page.screenshot({ path: path.join(SHOTS, "gui-unplaceable.png"), fullPage: true });
  });

  it("turns a node's card offline live when its agent dies", async () => {
    await stack.stopAgent("B");
    const c = card(stack.agentB.nodeId);
    await page
      .locator(`#nodes [data-node-id="${stack.agentB.nodeId}"][data-online="false"]`)
      .waitFor({ timeout: 20000 });
    await expect(c.locator(".status").textContent()).resolves.toMatch(/^offline \((lost|expired)\)$/);
    await page
      .locator('#events li[data-type="node.offline"]', { hasText: stack.agentB.nodeId })
      .first()
      .waitFor({ timeout: 5000 });
    await page.screenshot({ path: path.join(SHOTS, "gui-node-offline.png"), fullPage: true });
  });
});
