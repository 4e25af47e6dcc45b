/** What the tests that deploy openbaton-config NSDs through the fog VNFM share. */
import { readFileSync } from "node:fs";
import path from "node:path";
import { startDriverHarness, type DriverHarness } from "../harness";
import { NfvoWithVnfms } from "./nfvo-vnfm";

type Json = Record<string, unknown>;
const REPO = path.resolve(__dirname, "../../..");

/** An NSD from openbaton-config, with every VNFD's endpoint set to a test's VNFM type. */
export function loadNsd(file: string, endpoint: string): Json {
  const nsd = JSON.parse(readFileSync(path.join(REPO, "openbaton-config", file), "utf8")) as Json;
  for (const vnfd of nsd.vnfd as Json[]) vnfd.endpoint = endpoint;
  return nsd;
}

/** The VNFC instances of a VNF record, over all its VDUs. */
export function instances(vnfr: Json | undefined): Json[] {
  return ((vnfr?.vdu as Json[] | undefined) ?? []).flatMap(
    (v) => (v.vnfc_instance as Json[] | undefined) ?? [],
  );
}

/**
 * The driver with its VNFM (type `vnfmType`) on `topicPrefix`, the NFVO emulator playing both NFVO sides, the
 * VIM registered, once the driver sees `nodes` live nodes and the VNFM is registered and consuming.
 */
export async function startNsdHarness(opts: {
  topicPrefix: string;
  vnfmType: string;
  nodes: number;
  launchTimeoutMs: number;
}): Promise<{ h: DriverHarness; nfvo: NfvoWithVnfms }> {
  const h = await startDriverHarness({
    topicPrefix: opts.topicPrefix,
    emulator: (options) => new NfvoWithVnfms(options),
    driver: {
      launchTimeoutMs: opts.launchTimeoutMs,
      vnfm: { enabled: true, type: opts.vnfmType, faultCheckMs: 300 },
    },
  });
  const nfvo = h.emulator as NfvoWithVnfms;
  try {
    await nfvo.registerVim(h.vim);
    await h.waitForNodes(opts.nodes);
    await nfvo.waitForVnfm(opts.vnfmType);
  } catch (e) {
    await h.close();
    throw e;
  }
  return { h, nfvo };
}
