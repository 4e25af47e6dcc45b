/** What the tests that deploy openbaton-config NSDs through the fog VNFM share. */
import { readFileSync } from "node:fs";
import path from "node:path";
import type { DriverConfigInput } from "@openiotfog/vim-driver";
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
 * The driver with its VNFM enabled (type `vnfmType`, more driver settings from `driver`), the NFVO emulator playing
 * both NFVO sides, once the VNFM is registered and consuming its queue.
 */
export async function startVnfmHarness(opts: {
  vnfmType: string;
  topicPrefix?: string;
  driver?: Partial<DriverConfigInput>;
}): Promise<{ h: DriverHarness; nfvo: NfvoWithVnfms }> {
  const h = await startDriverHarness({
    ...(opts.topicPrefix === undefined ? {} : { topicPrefix: opts.topicPrefix }),
    emulator: (options) => new NfvoWithVnfms(options),
    driver: { ...opts.driver, vnfm: { ...opts.driver?.vnfm, enabled: true, type: opts.vnfmType } },
  });
  const nfvo = h.emulator as NfvoWithVnfms;
  try {
    await nfvo.waitForVnfm(opts.vnfmType);
  } catch (e) {
    await h.close();
    throw e;
  }
  return { h, nfvo };
}

/**
 * startVnfmHarness on `topicPrefix`, with the VIM registered, once the driver sees `nodes` live nodes.
 */
export async function startNsdHarness(opts: {
  topicPrefix: string;
  vnfmType: string;
  nodes: number;
  launchTimeoutMs: number;
  /** `vnfm.autoHeal` (default false). */
  autoHeal?: boolean;
}): Promise<{ h: DriverHarness; nfvo: NfvoWithVnfms }> {
  const started = await startVnfmHarness({
    vnfmType: opts.vnfmType,
    topicPrefix: opts.topicPrefix,
    driver: {
      launchTimeoutMs: opts.launchTimeoutMs,
      vnfm: { faultCheckMs: 300, ...(opts.autoHeal === undefined ? {} : { autoHeal: opts.autoHeal }) },
    },
  });
  try {
    await started.nfvo.registerVim(started.h.vim);
    await started.h.waitForNodes(opts.nodes);
  } catch (e) {
    await started.h.close();
    throw e;
  }
  return started;
}
