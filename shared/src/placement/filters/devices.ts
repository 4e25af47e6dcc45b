import { assignDevices, describeDeviceRequirement, deviceMatcher } from "../devices";
import { listNodes } from "../explain";
import type { FilterPlugin, Predicate } from "../plugin";

/** Hardware the service needs (a ZigBee coordinator, a camera), free for it: not leased away, not in use. */
export const devicesFilter: FilterPlugin = {
  name: "devices",
  order: 50,
  prepare: (ctx) => {
    const { spec } = ctx;
    const predicates: Predicate[] = spec.devices.map((requirement) => {
      const matches = deviceMatcher(requirement);
      const label = `device ${describeDeviceRequirement(requirement)}`;
      return {
        text: label,
        cost: 3,
        test: (node) =>
          node.caps.devices.some(
            (d) => matches(d) && node.deviceBlocker(d, requirement.exclusive) === undefined,
          ),
        explain: (node) => {
          const present = node.caps.devices.filter(matches);
          if (present.length === 0) return { seen: "none", reason: "missing" };
          const blockers = present.map((d) => node.deviceBlocker(d, requirement.exclusive) ?? "free");
          const uniqueBlockers = [...new Set(blockers)].join(", ");
          return {
            seen:
              present.length === 1
                ? `one but it is ${uniqueBlockers}`
                : `${present.length} but all are ${uniqueBlockers}`,
            reason: "in_use",
          };
        },
        // `device zigbee (0 of 3 nodes have a free one; pi-02 has one but it is in use by svc-x; pi-01, pi-03 have none)`
        summarise: (rejected, evaluated) => {
          const withFree = evaluated - rejected.length;
          const parts = [
            `${withFree} of ${evaluated} node${evaluated === 1 ? "" : "s"} ${withFree === 1 ? "has" : "have"} a free one`,
          ];
          const busy = rejected.filter((r) => r.reason !== "missing");
          for (const r of busy.slice(0, 3)) parts.push(`${r.nodeId} has ${r.seen}`);
          if (busy.length > 3) parts.push(`${busy.length - 3} more nodes have theirs in use`);
          const missing = rejected.filter((r) => r.reason === "missing").map((r) => r.nodeId);
          if (missing.length > 0)
            parts.push(`${listNodes(missing)} ${missing.length === 1 ? "has" : "have"} none`);
          return `${label} (${parts.join("; ")})`;
        },
      };
    });
    // Each requirement alone may be satisfiable while together they need more devices than the node has.
    if (spec.devices.length > 1) {
      predicates.push({
        text: `${spec.devices.length} devices at once (${spec.devices.map(describeDeviceRequirement).join(", ")})`,
        cost: 10,
        test: (node) => assignDevices(spec, node) !== undefined,
        explain: () => ({ seen: "not enough distinct free devices", reason: "insufficient" }),
      });
    }
    return predicates;
  },
};
