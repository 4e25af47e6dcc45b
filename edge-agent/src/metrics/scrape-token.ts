import { IotFogError, errorMessage, isIotFogError, readSecretFile } from "@openiotfog/shared";
import type { AgentMetricsConfig } from "./config";

/** The scrape token (from the config or its file), as a list of zero or one tokens. */
export async function scrapeToken(config: AgentMetricsConfig): Promise<string[]> {
  if (config.scrapeToken !== undefined) return [config.scrapeToken];
  if (config.scrapeTokenFile === undefined) return [];
  let token: string;
  try {
    token = await readSecretFile(config.scrapeTokenFile);
  } catch (e) {
    if (isIotFogError(e)) throw e;
    throw new IotFogError("CONFIG_INVALID", `metrics.scrapeTokenFile: ${errorMessage(e)}`);
  }
  if (token.length < 16) {
    throw new IotFogError(
      "CONFIG_INVALID",
      `metrics.scrapeTokenFile ${config.scrapeTokenFile}: the token must be at least 16 characters`,
    );
  }
  return [token];
}
