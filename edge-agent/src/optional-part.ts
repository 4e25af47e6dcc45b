import { errorMessage, type Component, type Logger } from "@openiotfog/shared";

/**
 * The agent's job is to keep its services running: an auxiliary endpoint that cannot bind (a port taken by
 * another agent on the same machine, a typo) is logged loudly and left out of the status, never fatal.
 */
export function optionalPart(component: Component, logger: Logger): Component {
  let started = false;
  return {
    name: component.name,
    start: async () => {
      try {
        await component.start();
        started = true;
      } catch (e) {
        logger.error("optional part failed to start; the agent runs without it", {
          name: component.name,
          error: errorMessage(e),
        });
      }
    },
    stop: async () => {
      if (started) await component.stop();
      started = false;
    },
  };
}
