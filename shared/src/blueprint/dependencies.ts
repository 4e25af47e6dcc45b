import { IotFogError } from "../errors";

/**
 * Orders services so every one comes after the services it depends on (stable: ties keep input order).
 * Throws VALIDATION_FAILED naming an unknown dependency or the services of a cycle.
 */
export function orderByDependencies<T extends { name: string; dependsOn: readonly string[] }>(
  services: readonly T[],
  source = "services",
): T[] {
  const byName = new Map(services.map((s) => [s.name, s]));
  for (const s of services) {
    for (const d of s.dependsOn) {
      if (!byName.has(d)) {
        throw new IotFogError("VALIDATION_FAILED", `${source}: ${s.name} depends on unknown service ${d}`, {
          service: s.name,
        });
      }
    }
  }
  const ordered: T[] = [];
  const state = new Map<string, "visiting" | "done">();
  const visit = (s: T, trail: string[]): void => {
    const st = state.get(s.name);
    if (st === "done") return;
    if (st === "visiting") {
      const cycle = [...trail.slice(trail.indexOf(s.name)), s.name].join(" -> ");
      throw new IotFogError("VALIDATION_FAILED", `${source}: dependency cycle ${cycle}`, { cycle });
    }
    state.set(s.name, "visiting");
    for (const d of s.dependsOn) visit(byName.get(d) as T, [...trail, s.name]);
    state.set(s.name, "done");
    ordered.push(s);
  };
  for (const s of services) visit(s, []);
  return ordered;
}
