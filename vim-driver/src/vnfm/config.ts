import { z } from "zod";

const positiveMs = z.number().int().positive("must be > 0 (milliseconds)");

/**
 * The `vnfm` section of the driver configuration: the fog VNF manager run by the same process. It uses the
 * broker settings of the `openbaton` section (URL, vhost, registration user, retries).
 */
export const vnfmConfigSchema = z
  .object({
    /** Off by default: the VIM driver alone is enough when another VNFM (or none) manages the VNFs. */
    enabled: z.boolean().default(false),
    /**
     * VnfmManagerEndpoint.type: the NFVO hands us every VNFD whose `endpoint` equals it. `docker` takes over NSDs
     * written for Open Baton's Docker VNFM (do not run that VNFM at the same time).
     */
    type: z
      .string()
      .regex(
        /^[a-zA-Z0-9][a-zA-Z0-9_-]*$/,
        "must be letters, digits, '-' or '_' (it is a queue and user name)",
      )
      .default("fog"),
    /** The queue the NFVO sends to (VnfmManagerEndpoint.endpoint); default: the type, as Open Baton's SDKs do. */
    endpoint: z
      .string()
      .regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/, "must be letters, digits, '.', '-' or '_'")
      .optional(),
    description: z.string().default("OpenIoTFog fog VNF manager (containers on fog nodes)"),
    /** Also consume `nfvo.<endpoint>.actions`, where older NFVO releases send. */
    legacyQueue: z.boolean().default(true),
    /** NFVO messages handled at once (each INSTANTIATE waits for its allocation). */
    workers: z.number().int().min(1).max(64).default(8),
    /**
     * How long to wait for the NFVO's answer to GRANT_OPERATION / ALLOCATE_RESOURCES / SCALING: allocation runs
     * launchInstanceAndWait for every VNFC (up to the NFVO's 300 s plugin timeout each).
     */
    rpcTimeoutMs: positiveMs.default(900000),
    /**
     * `true`: a VNFC whose node is lost is placed again by the fleet's reconciler itself (`on_node_loss: replace`,
     * no grace), and the NFVO is told with UPDATEVNFR (new vc_id, hostname, IPs, state). `false`: the fleet waits
     * for the node, the VNFM reports ERROR and the NFVO decides (HEAL). docs/self-healing.md#open-baton.
     */
    autoHeal: z.boolean().default(false),
    /** How often running VNFCs are checked against the fleet (node lost, device detached). */
    faultCheckMs: positiveMs.default(2000),
    /**
     * Where the VNFM keeps what the NFVO will not send again (MODIFY's dependency values, the fog spec of the
     * VNFCs), so a restart of the driver loses nothing; default `.iotfog/vnfm-<type>.json` under the working directory.
     */
    stateFile: z.string().min(1, "must not be empty").optional(),
  })
  .strict();
export type VnfmConfig = z.output<typeof vnfmConfigSchema>;
