import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { TEST_IMAGE } from "../../helpers/services";

const run = promisify(execFile);
const REPO = path.resolve(__dirname, "../../..");

/** The Open Baton Docker tutorial's image tags, as local stand-ins (scripts/images/iperf.sh). */
export const TUTORIAL_IMAGES = ["iperfserver:latest", "iperfclient:latest"] as const;

/**
 * Makes sure the tutorial images exist, with the same scripts `scripts/setup.sh` runs (idempotent, fast when
 * the images are there). A failing script fails the test with its output.
 */
export async function ensureTutorialImages(): Promise<void> {
  try {
    await run("bash", [path.join(REPO, "scripts/images/iperf.sh")], {
      env: { ...process.env, TEST_IMAGE },
      timeout: 60000,
    });
  } catch (e) {
    const err = e as Error & { stderr?: string };
    throw new Error(`scripts/images/iperf.sh failed: ${err.message}${err.stderr ? `\n${err.stderr}` : ""}`);
  }
}
