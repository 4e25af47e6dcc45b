/** What the VNFM tests on two agents with two Docker engines share (vnfm-heal, vnfm-autoheal). */
import type Docker from "dockerode";
import { hasImage, removeContainersByLabel } from "../../helpers/services";

const HOSTNAME_LABEL = "org.openiotfog.openbaton.hostname";

/** The node of a VNFC's vc_id (`<node>:<agent deployment id>`). */
export const nodeOf = (vcId: string): string => vcId.slice(0, vcId.indexOf(":"));
/** The agent deployment id of a VNFC's vc_id. */
export const deploymentOf = (vcId: string): string => vcId.slice(vcId.indexOf(":") + 1);

/** `docker save | docker load` between two engines; true when it loaded something. */
export async function copyImage(tag: string, from: Docker, to: Docker): Promise<boolean> {
  if (await hasImage(to, tag)) return false;
  const saved = await from.getImage(tag).get();
  const loading = await to.loadImage(saved);
  await new Promise<void>((resolve, reject) =>
    to.modem.followProgress(loading, (e: Error | null) => (e ? reject(e) : resolve())),
  );
  return true;
}

/** The containers of one VNFC hostname on the engines, as `<node>:<deployment>` (running or not). */
export async function copiesOf(engines: Docker[], hostname: string): Promise<string[]> {
  const out: string[] = [];
  for (const engine of engines) {
    const list = await engine.listContainers({
      all: true,
      filters: { label: [`${HOSTNAME_LABEL}=${hostname}`] },
    });
    for (const c of list)
      out.push(`${c.Labels["org.openiotfog.node"] ?? "?"}:${c.Labels["org.openiotfog.deployment"] ?? "?"}`);
  }
  return out.sort();
}

/** Whether the VNFC's container exists on the engine, once, and runs. */
export async function runningOn(engine: Docker, vcId: string): Promise<boolean> {
  const list = await engine.listContainers({
    all: true,
    filters: {
      label: [`org.openiotfog.node=${nodeOf(vcId)}`, `org.openiotfog.deployment=${deploymentOf(vcId)}`],
    },
  });
  return list.length === 1 && list[0]?.State === "running";
}

/** Removes the containers and networks of each node from its own engine (node i on engine i). */
export async function removeNodesFrom(nodeIds: string[], engines: Array<Docker | undefined>): Promise<void> {
  for (const [i, nodeId] of nodeIds.entries()) {
    const engine = engines[i];
    if (engine === undefined) continue;
    await removeContainersByLabel("org.openiotfog.node", nodeId, engine);
    const nets = await engine.listNetworks({ filters: { label: [`org.openiotfog.node=${nodeId}`] } });
    for (const n of nets)
      await engine
        .getNetwork(n.Id)
        .remove()
        .catch(() => undefined);
  }
}
