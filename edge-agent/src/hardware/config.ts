import { z } from "zod";

/** `hardware:` section of the agent config. */
export const hardwareConfigSchema = z
  .object({
    /**
     * SUB socket third-party listeners connect their PUB sockets to. Loopback by default: listeners run on the
     * node itself; bind a LAN address only on a trusted network (events change what the node advertises).
     */
    bind: z
      .string()
      .regex(/^(tcp|ipc):\/\/.+$/, "must be a ZeroMQ address such as tcp://127.0.0.1:5556")
      .default("tcp://127.0.0.1:5556"),
    /** Address listeners are told about (presence / REST status); default: the bound address. */
    advertise: z
      .string()
      .regex(/^(tcp|ipc):\/\/.+$/, "must be a ZeroMQ address")
      .optional(),
    /** Built-in udev listener: `auto` runs it where `udevadm` exists. */
    udev: z.union([z.boolean(), z.literal("auto")]).default("auto"),
  })
  .strict()
  .default({});
export type HardwareConfig = z.output<typeof hardwareConfigSchema>;
