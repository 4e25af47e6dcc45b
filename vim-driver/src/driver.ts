import { KeepAlive, Lifecycle, type Logger } from "@openiotfog/shared";
import type { DriverConfig } from "./config";

/** Composition root of the driver side: wires its components in start order. */
export function buildDriver(config: DriverConfig, logger: Logger): Lifecycle {
  logger.info("driver configured", { mqtt: config.mqtt.url, openbaton: config.openbaton.enabled });
  return new Lifecycle([new KeepAlive()], logger);
}
