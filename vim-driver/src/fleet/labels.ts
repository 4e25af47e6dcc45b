import { IotFogError, isIotFogError, type LabelsChange, type Logger } from "@openiotfog/shared";
import type { AgentPool } from "./agents";
import type { FleetView } from "./fleet-view";

export interface AgentLabelWriterOptions {
  agents: AgentPool;
  view: FleetView;
  /** How long to wait for the fleet view to show the labels the agent republished. */
  settleMs: number;
  logger: Logger;
}

function sameLabels(a: Record<string, string> | undefined, b: Record<string, string>): boolean {
  if (a === undefined) return false;
  const keys = Object.keys(b);
  return Object.keys(a).length === keys.length && keys.every((k) => a[k] === b[k]);
}

/** Resolves true once the view's capability document of the node carries exactly `labels`, false on timeout. */
function viewShows(
  view: FleetView,
  nodeId: string,
  labels: Record<string, string>,
  ms: number,
): Promise<boolean> {
  const matches = (): boolean => sameLabels(view.node(nodeId)?.capabilities?.labels, labels);
  if (matches()) return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      off();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), ms);
    const off = view.onChange((id) => {
      if (id === nodeId && matches()) done(true);
    });
  });
}

/**
 * Changes a node's operator labels on its agent (`labels.set` over the node's AgentClient): the agent validates
 * and persists the change and republishes its capabilities on MQTT. The call returns once the fleet view shows
 * the new labels too (bounded by settleMs), so a `nodes` listing or a placement right after sees them.
 */
export function agentLabelWriter(
  opts: AgentLabelWriterOptions,
): (nodeId: string, change: LabelsChange) => Promise<Record<string, string>> {
  return async (nodeId, change) => {
    let labels: Record<string, string>;
    try {
      ({ labels } = await opts.agents.client(nodeId).call("labels.set", change));
    } catch (e) {
      if (isIotFogError(e) && e.code === "UNSUPPORTED") {
        const version = opts.view.node(nodeId)?.agentVersion ?? "unknown";
        throw new IotFogError(
          "UNSUPPORTED",
          `node "${nodeId}": its agent (version ${version}) does not accept label changes; upgrade it, or set \`labels:\` in its configuration and restart it`,
        );
      }
      throw e;
    }
    if (!(await viewShows(opts.view, nodeId, labels, opts.settleMs))) {
      opts.logger.warn("the agent changed its labels but the fleet view has not seen them yet", {
        nodeId,
        labels,
      });
    }
    return labels;
  };
}
