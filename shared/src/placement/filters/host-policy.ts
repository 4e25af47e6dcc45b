import { specViolations } from "../../host-policy/check";
import { DEFAULT_HOST_POLICY, type HostPolicy } from "../../host-policy/schema";
import { listNodes } from "../explain";
import type { NodeView } from "../node-view";
import type { FilterPlugin, Predicate } from "../plugin";

const policyOf = (node: NodeView): HostPolicy => node.caps.hostPolicy ?? DEFAULT_HOST_POLICY;

/**
 * The nodes' host-safety policies (docs/security.md): a service that bind-mounts a host path or joins the host
 * network goes only to a node whose operator allows it, so no node is chosen that would refuse the deploy.
 * One predicate per field the least-privilege policy refuses; a node passes it when its own policy does not.
 */
export const hostPolicyFilter: FilterPlugin = {
  name: "host-policy",
  order: 5,
  prepare: (ctx) => {
    const request = { spec: ctx.spec };
    return specViolations(request, DEFAULT_HOST_POLICY).map((wanted): Predicate => {
      const refusal = (node: NodeView) =>
        specViolations(request, policyOf(node)).find((v) => v.field === wanted.field);
      const text = `host policy allows ${wanted.field} (rule ${wanted.rule})`;
      return {
        text,
        cost: 1,
        test: (node) => refusal(node) === undefined,
        explain: (node) => ({ seen: refusal(node)?.message ?? wanted.message, reason: wanted.rule }),
        // `host policy allows spec.volumes[0].source (rule bind-mount): refused by pi-01, pi-02: spec.volumes[0]...`
        summarise: (rejected) => {
          const first = rejected[0]?.seen ?? wanted.message;
          return `${text}: refused by ${listNodes(rejected.map((r) => r.nodeId))}: ${first}`;
        },
      };
    });
  },
};
