import { constraintsFromMetadata, formatFogSpec, parseFogSpec } from "../../src/openbaton/fog-spec";
import { WorkerPool } from "../../src/util/worker-pool";
import { nodeAddress } from "../../src/openbaton/fleet/live-fleet";
import { serviceName, slugOf } from "../../src/openbaton/launch-translation";

describe("fog spec in userdata", () => {
  const spec = {
    constraints: ["node.labels.zone==line-1"],
    env: { MODE: "edge" },
    resources: { memory: "64MiB" },
  };

  it.each(["json", "base64url"] as const)(
    "reads a v1 line (%s) and survives the NFVO's #Hostname= edit",
    (enc) => {
      const userdata = `#!/bin/sh\n#Hostname=\n${formatFogSpec(spec, enc)}\necho hi\n`;
      const edited = userdata.replace("#Hostname=", "Hostname=web-4711003");
      expect(parseFogSpec(edited)).toMatchObject({
        constraints: ["node.labels.zone==line-1"],
        env: { MODE: "edge" },
        resources: { memoryBytes: 64 * 1024 * 1024 },
      });
    },
  );

  it("returns undefined without a spec and names the field of a bad one", () => {
    expect(parseFogSpec("#!/bin/sh\necho hi")).toBeUndefined();
    expect(() => parseFogSpec('#iotfog-spec/v1 {"env": {"A": 1}}')).toThrow(/field "env.A"/);
    expect(() => parseFogSpec('#iotfog-spec/v2 {"env": {}}')).toThrow(/version 2 is not supported/);
    expect(() => parseFogSpec("#iotfog-spec/v1 {not json")).toThrow(/not valid JSON/);
    expect(() => parseFogSpec("#iotfog-spec/")).toThrow(/malformed/);
    expect(() => parseFogSpec("#iotfog-spec/v1 {}\n#iotfog-spec/v1 {}")).toThrow(/2 "#iotfog-spec\/" lines/);
  });

  it("refuses a field that would grant privileges, saying why (host-safety policy)", () => {
    expect(() => parseFogSpec('#iotfog-spec/v1 {"privileged": true, "cap_add": ["SYS_ADMIN"]}')).toThrow(
      /Unrecognized key\(s\) in object: 'privileged', 'cap_add' \(no field may grant a container host privileges/,
    );
  });

  it("reads constraints from metadata maps", () => {
    expect(constraintsFromMetadata({ "iotfog.constraints": "a==b; c!=d\ne==f" })).toEqual([
      "a==b",
      "c!=d",
      "e==f",
    ]);
    expect(constraintsFromMetadata(undefined)).toEqual([]);
  });
});

describe("names", () => {
  it("derives Docker-safe slugs, DNS-label service names and node addresses", () => {
    expect(slugOf("new-network")).toBe("new-network");
    expect(slugOf("a b/c")).toBe("a_b_c");
    expect(serviceName("iperf-server-4711003")).toBe("iperf-server-4711003");
    expect(serviceName("My_VNF 1")).toBe("my-vnf-1");
    const caps = { hostname: "pi-01" } as never;
    expect(nodeAddress({ nodeId: "n", endpoint: "tcp://10.0.0.7:5555", capabilities: caps })).toBe(
      "10.0.0.7",
    );
    expect(nodeAddress({ nodeId: "n", endpoint: "tcp://*:5555", capabilities: caps })).toBe("pi-01");
  });
});

describe("worker pool", () => {
  it("runs at most `size` jobs at once, in arrival order, and reports idle", async () => {
    const pool = new WorkerPool(2);
    let running = 0;
    let peak = 0;
    const order: number[] = [];
    const gates: Array<() => void> = [];
    const jobs = [0, 1, 2, 3, 4].map((i) =>
      pool.run(async () => {
        running += 1;
        peak = Math.max(peak, running);
        order.push(i);
        await new Promise<void>((r) => gates.push(r));
        running -= 1;
        return i;
      }),
    );
    while (order.length < 5) {
      await new Promise((r) => setImmediate(r));
      gates.shift()?.();
    }
    gates.forEach((g) => g());
    expect(await Promise.all(jobs)).toEqual([0, 1, 2, 3, 4]);
    expect(peak).toBe(2);
    expect(order).toEqual([0, 1, 2, 3, 4]);
    await pool.idle();
    expect(pool.active).toBe(0);
  });
});
