import { createHash } from "node:crypto";
import { z } from "zod";
import { hexIdSchema, normaliseHexId, type Device } from "@openiotfog/shared";

/**
 * Hardware events: what third-party listeners (a vendor's USB watcher, a BLE scanner, a PLC gateway) publish
 * on the agent's hardware endpoint. Documented for vendors in docs/agent-events.md; the JSON travels as the
 * last frame of a ZeroMQ message, optionally after a topic frame.
 */
export const HARDWARE_EVENT_VERSION = 1 as const;

export const hardwareEventTypes = ["device.attached", "device.detached"] as const;
export type HardwareEventType = (typeof hardwareEventTypes)[number];

const text = z.string().min(1, "must not be empty").max(512, "must be at most 512 characters");

/** A device as a listener describes it. Lower-case class names; ids are hex like USB's `10c4`. */
export const hardwareDeviceSchema = z
  .object({
    /** Stable id within the node; derived from the other fields when absent (see deriveDeviceId). */
    id: z
      .string()
      .regex(/^[a-zA-Z0-9][a-zA-Z0-9_.:-]{0,127}$/, "must be 1-128 letters, digits, '.', '_', ':' or '-'")
      .optional(),
    class: z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/, "must be a lower-case class name such as zigbee"),
    vendorId: hexIdSchema.optional(),
    productId: hexIdSchema.optional(),
    vendor: text.optional(),
    product: text.optional(),
    serial: text.optional(),
    /** Kernel path, e.g. /dev/ttyACM0. */
    path: z.string().regex(/^\//, "must be an absolute path such as /dev/ttyACM0").max(512).optional(),
    /** Path that survives re-plugs, e.g. /dev/serial/by-id/usb-...; preferred for container mappings. */
    stablePath: z.string().regex(/^\//, "must be an absolute path").max(512).optional(),
    /** The protocol the device speaks (a shorthand for a one-element `protocols`). */
    protocol: z
      .string()
      .regex(/^[a-z0-9][a-z0-9_.-]{0,31}$/, "must be a lower-case protocol name")
      .optional(),
    protocols: z
      .array(z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,31}$/, "must be a lower-case protocol name"))
      .max(16)
      .optional(),
  })
  .strict();
export type HardwareDevice = z.infer<typeof hardwareDeviceSchema>;

export const hardwareEventSchema = z
  .object({
    v: z.literal(HARDWARE_EVENT_VERSION, {
      errorMap: () => ({ message: `must be hardware event version ${HARDWARE_EVENT_VERSION}` }),
    }),
    type: z.enum(hardwareEventTypes),
    device: hardwareDeviceSchema,
    /** Who sent it (shown in logs and on the events topic), e.g. `usb-watcher`. */
    source: z.string().min(1).max(64).default("unknown"),
    /** When the listener saw it (epoch ms); the agent's clock is used when absent. */
    time: z.number().int().positive().optional(),
  })
  .strict()
  .superRefine((e, ctx) => {
    const d = e.device;
    if (e.type === "device.attached" && d.path === undefined && d.stablePath === undefined) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ["device", "path"],
        message: "is required when a device is attached (or give device.stablePath)",
      });
    }
    if (
      e.type === "device.detached" &&
      d.id === undefined &&
      d.serial === undefined &&
      d.path === undefined &&
      d.stablePath === undefined
    ) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ["device"],
        message: "a detached device needs one of id, serial, path, stablePath to say which one left",
      });
    }
  });
export type HardwareEvent = z.output<typeof hardwareEventSchema>;
export type HardwareEventInput = z.input<typeof hardwareEventSchema>;

/**
 * A stable id for a device a listener did not name: serial-based when there is a serial (survives re-plugs
 * into another port), otherwise from the stable path or the kernel path. Hashed so it fits Docker-ish alphabets.
 */
export function deriveDeviceId(d: HardwareDevice): string {
  if (d.id !== undefined) return d.id;
  const ids = [d.vendorId, d.productId].map((x) => (x === undefined ? "" : normaliseHexId(x))).join(":");
  const key = d.serial !== undefined ? `serial:${ids}:${d.serial}` : `path:${d.stablePath ?? d.path ?? ""}`;
  const hash = createHash("sha256").update(key).digest("hex").slice(0, 12);
  return `${d.class}-${hash}`;
}

/** The device as it goes into the capability document. */
export function toCapabilityDevice(d: HardwareDevice): Device {
  const protocols = [...new Set([...(d.protocols ?? []), ...(d.protocol === undefined ? [] : [d.protocol])])];
  const path = d.path ?? d.stablePath;
  const out: Device = { id: deriveDeviceId(d), class: d.class, path: path ?? "" };
  if (d.vendorId !== undefined) out.vendorId = normaliseHexId(d.vendorId);
  if (d.productId !== undefined) out.productId = normaliseHexId(d.productId);
  if (d.vendor !== undefined) out.vendor = d.vendor;
  if (d.product !== undefined) out.product = d.product;
  if (d.serial !== undefined) out.serial = d.serial;
  if (d.stablePath !== undefined) out.stablePath = d.stablePath;
  if (protocols.length > 0) out.protocols = protocols;
  return out;
}

/** Does a detach event's description name this device? Every field the event gives must match. */
export function describesDevice(event: HardwareDevice, device: Device): boolean {
  if (event.id !== undefined) return event.id === device.id;
  if (event.class !== device.class) return false;
  if (event.serial !== undefined) {
    if (event.serial !== device.serial) return false;
    const sameHex = (a: string | undefined, b: string | undefined): boolean =>
      a === undefined || (b !== undefined && normaliseHexId(a) === normaliseHexId(b));
    return sameHex(event.vendorId, device.vendorId) && sameHex(event.productId, device.productId);
  }
  if (event.stablePath !== undefined) return event.stablePath === device.stablePath;
  return event.path !== undefined && (event.path === device.path || event.path === device.stablePath);
}
