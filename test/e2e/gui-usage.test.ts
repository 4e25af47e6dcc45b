/**
 * The GUI's usage figures in a real browser (issue 16): Debian's Chromium driven by playwright-core against a
 * running stack (driver with the fleet API + GUI, two agents on real Mosquitto and real Docker engines, sampling
 * every second). Each node's card draws CPU and memory sparklines from the driver's history of the agents' usage
 * messages and extends them live; the deployments table shows each replica's CPU and memory. The screenshot goes
 * to test-artifacts/screenshots/gui-usage.png (its path is printed).
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
  stack = await startOpsStack("gui-usage");
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
        "--no-first-run",
        "--disable-background-networking",
      ],
    });
  } catch (e) {
    throw new Error(
      `cannot start Chromium at ${CHROMIUM} (installed by scripts/setup.sh: apt-get install chromium): ${(e as Error).message}`,
    );
  }
  page = context.pages()[0] ?? (await context.newPage());
  page.on("pageerror", (e) => pageErrors.push(e.message));
  page.on("console", (m) => {
    if (m.type() === "error") pageErrors.push(m.text());
  });
  // The GUI must never reach beyond its own origin.
  page.on("request", (r) => {
    if (!r.url().startsWith(stack.apiUrl) && !r.url().startsWith("data:"))
      pageErrors.push(`external request ${r.url()}`);
  });
});

afterAll(async () => {
  await context?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
  await stack?.stop();
});

afterEach(() => {
  expect(pageErrors.splice(0)).toEqual([]);
});

/** Points drawn by a node's sparkline, as its SVG path has them (`M x,y L x,y ...`). */
async function pathPoints(nodeId: string, kind: "cpu" | "memory"): Promise<number> {
  const d = await page
    .locator(`#nodes [data-node-id="${nodeId}"] svg.spark[data-kind="${kind}"] path.line`)
    .getAttribute("d");
  return (d ?? "").split(/[ML]/).filter((s) => /\d/.test(s)).length;
}

describe("web GUI usage figures in headless Chromium", () => {
  it("draws each node's CPU and memory sparklines and the replicas' CPU and memory, updated live", async () => {
    const deployed = await stack.api<{ replicas: Array<{ nodeId: string }> }>("POST", "/deployments", {
      blueprint: blueprint({ name: "gui-usage", constraints: ["node.labels.cell == press"] }),
    });
    expect(deployed.status).toBe(201);
    const A = stack.agentA.nodeId;

    await page.goto(`${stack.apiUrl}/#token=${stack.token}`);
    await page.evaluate(() => ((globalThis as unknown as { sameDocument: boolean }).sameDocument = true));
    for (const agent of [stack.agentA, stack.agentB]) {
      // Two usage messages give a line; the CPU needs one more (busy cores are measured between two).
      await page
        .locator(`#nodes [data-node-id="${agent.nodeId}"] svg.spark[data-kind="cpu"][data-points]`)
        .and(page.locator(':not([data-points="0"]):not([data-points="1"])'))
        .waitFor({ timeout: 30000 });
      expect(await pathPoints(agent.nodeId, "cpu")).toBeGreaterThanOrEqual(2);
      expect(await pathPoints(agent.nodeId, "memory")).toBeGreaterThanOrEqual(2);
      const card = page.locator(`#nodes [data-node-id="${agent.nodeId}"]`);
      await expect(card.locator(".usage .figure.cpu").textContent()).resolves.toMatch(
        /^\d+(\.\d)?% of \d+ cores$/,
      );
      await expect(card.locator(".usage .figure.memory").textContent()).resolves.toMatch(
        /^[\d.]+ [KMG]iB \/ [\d.]+ [KMG]iB$/,
      );
    }

    // The replica's row: CPU (100% = one core) and working set / the blueprint's 16 MiB limit.
    const row = page.locator('#deployments tr[data-deployment-id="gui-usage"]');
    await row.locator("td.usage-cpu", { hasText: "%" }).waitFor({ timeout: 30000 });
    await expect(row.locator("td.node").textContent()).resolves.toBe(A);
    await expect(row.locator("td.usage-cpu").textContent()).resolves.toMatch(/^\d+(\.\d)?%$/);
    await expect(row.locator("td.usage-memory").textContent()).resolves.toMatch(
      /^[\d.]+ [KM]?i?B \/ 16\.0 MiB$/,
    );

    // Live: the line grows without a reload.
    const before = await pathPoints(A, "memory");
    const selector = `#nodes [data-node-id="${A}"] svg.spark[data-kind="memory"]`;
    await page.waitForFunction(
      ([sel, n]) => {
        type Doc = { querySelector(s: string): { getAttribute(a: string): string | null } | null };
        const doc = (globalThis as unknown as { document: Doc }).document;
        return Number(doc.querySelector(sel)?.getAttribute("data-points") ?? 0) > n;
      },
      [selector, before] as const,
      { timeout: 30000 },
    );
    expect(await pathPoints(A, "memory")).toBeGreaterThan(before);
    expect(
      await page.evaluate(() => (globalThis as unknown as { sameDocument?: boolean }).sameDocument),
    ).toBe(true);

    const shot = path.join(SHOTS, "gui-usage.png");
    await page.screenshot({ path: shot, fullPage: true });
    process.stdout.write(`GUI usage screenshot: ${shot}\n`);
  });
});
