import type { FleetNode } from "../fleet/types";

/** One group of Prometheus' HTTP service discovery (`http_sd_configs`). */
export interface TargetGroup {
  targets: string[];
  labels: Record<string, string>;
}

/**
 * The agents Prometheus should scrape, in the HTTP service discovery format: every online node that advertises
 * its REST API (which serves /metrics), labelled with its node id, so a scrape configuration needs no list of
 * nodes. A node that goes offline drops out at Prometheus' next refresh.
 */
export function prometheusTargets(nodes: readonly FleetNode[]): TargetGroup[] {
  const groups: TargetGroup[] = [];
  for (const n of nodes) {
    const rest = n.endpoints?.rest;
    if (!n.online || rest === undefined) continue;
    let url: URL;
    try {
      url = new URL(rest);
    } catch {
      continue;
    }
    groups.push({
      targets: [url.host],
      labels: { node: n.nodeId, __scheme__: url.protocol.replace(/:$/, "") },
    });
  }
  return groups;
}
