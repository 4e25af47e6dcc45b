import {
  PendingRemovals,
  findSupersededCopies,
  isWholeNfvoHostname,
  type PlacedCopy,
  type SupersedeRules,
} from "../../src/openbaton/pending-removals";
import { serviceName } from "../../src/openbaton/launch-translation";

const PREFIX = "ob-docker-fog-";

describe("PendingRemovals (tombstones of removals owed to offline nodes)", () => {
  it("keeps removals per node, oldest first, the first failure's time, and drops them one by one", () => {
    const p = new PendingRemovals();
    p.add({ nodeId: "pi-1", deploymentId: "b", since: 20, reason: "node offline" });
    p.add({ nodeId: "pi-1", deploymentId: "a", since: 10, reason: "node offline" });
    p.add({ nodeId: "pi-2", deploymentId: "c", since: 5, reason: "timeout" });
    p.add({ nodeId: "pi-1", deploymentId: "a", since: 30, reason: "no answer" });
    expect(p.size).toBe(3);
    expect(p.forNode("pi-1")).toEqual([
      { nodeId: "pi-1", deploymentId: "a", since: 10, reason: "no answer" },
      { nodeId: "pi-1", deploymentId: "b", since: 20, reason: "node offline" },
    ]);
    expect(p.has("pi-2", "c")).toBe(true);
    expect(p.has("pi-1", "c")).toBe(false);
    expect(p.drop("pi-1", "a")).toBe(true);
    expect(p.drop("pi-1", "a")).toBe(false);
    expect(p.drop("pi-1", "b")).toBe(true);
    expect(p.forNode("pi-1")).toEqual([]);
    expect(p.size).toBe(1);
  });

  it("hands out copies: changing one does not change the store", () => {
    const p = new PendingRemovals();
    p.add({ nodeId: "pi-1", deploymentId: "a", since: 1, reason: "x" });
    const [t] = p.forNode("pi-1");
    if (t) t.reason = "changed";
    expect(p.forNode("pi-1")[0]?.reason).toBe("x");
  });
});

describe("isWholeNfvoHostname (service names that surely are a whole NFVO hostname)", () => {
  it("accepts <vnfr>-<random> names that serviceName left whole", () => {
    expect(isWholeNfvoHostname(serviceName("iperf-server-4711"))).toBe(true);
    expect(isWholeNfvoHostname(serviceName("Zigbee-Gateway-9999999"))).toBe(true);
  });

  it("refuses names that may have been cut at 63 characters, and other naming", () => {
    const long = serviceName(`${"a".repeat(60)}-1234567`);
    expect(long).toHaveLength(63);
    expect(isWholeNfvoHostname(long)).toBe(false);
    // Two VNFCs of a VNF with a long name share the cut name: exactly the case the guard is for.
    expect(serviceName(`${"b".repeat(63)}-1`)).toBe(serviceName(`${"b".repeat(63)}-2`));
    expect(isWholeNfvoHostname(serviceName(`${"b".repeat(63)}-1`))).toBe(false);
    expect(isWholeNfvoHostname("iperf-server")).toBe(false);
    expect(isWholeNfvoHostname("iperf-server-12345678")).toBe(false);
    expect(isWholeNfvoHostname("vnfc")).toBe(false);
  });
});

describe("findSupersededCopies (left-over copies of VNFCs placed again elsewhere)", () => {
  const copy = (
    nodeId: string,
    name: string,
    createdAt: number,
    extra: Partial<PlacedCopy> = {},
  ): PlacedCopy => ({
    nodeId,
    deploymentId: `${PREFIX}${name}.iperf-server-42.0`,
    service: "iperf-server-42",
    image: "iperfserver:latest",
    state: "running",
    createdAt,
    ...extra,
  });
  const rules = (over: Partial<SupersedeRules> = {}): SupersedeRules => ({
    isOurs: (id) => id.startsWith(PREFIX),
    launchedHere: () => false,
    pending: () => false,
    ...over,
  });

  it("the older copy on another node is superseded by the newest running one", () => {
    const old = copy("pi-1", "aaa", 1000);
    const newer = copy("pi-2", "bbb", 2000);
    const r = findSupersededCopies([newer, old, copy("pi-1", "ccc", 500, { service: "other-1" })], rules());
    expect(r.superseded).toEqual([{ stale: old, newer }]);
    expect(r.skipped).toEqual([]);
  });

  it("a chain of re-placements leaves every older copy superseded by the newest", () => {
    const [a, b, c] = [copy("pi-1", "a", 1), copy("pi-2", "b", 2), copy("pi-3", "c", 3)];
    expect(findSupersededCopies([a, b, c], rules()).superseded).toEqual([
      { stale: b, newer: c },
      { stale: a, newer: c },
    ]);
  });

  it("leaves alone: other drivers' deployments, single copies, and copies already owed a removal", () => {
    const foreign = copy("pi-1", "x", 1, { deploymentId: "web.iperf-server-42.0" });
    expect(findSupersededCopies([foreign, copy("pi-2", "b", 2)], rules()).superseded).toEqual([]);
    expect(findSupersededCopies([copy("pi-2", "b", 2)], rules()).superseded).toEqual([]);
    const old = copy("pi-1", "a", 1);
    expect(
      findSupersededCopies(
        [old, copy("pi-2", "b", 2)],
        rules({ pending: (n, id) => n === "pi-1" && id === old.deploymentId }),
      ).superseded,
    ).toEqual([]);
  });

  it("never removes a copy this driver process launched, nor anything when the newest is its own launch", () => {
    const old = copy("pi-1", "a", 1);
    const newer = copy("pi-2", "b", 2);
    const launchedNewer = findSupersededCopies(
      [old, newer],
      rules({ launchedHere: (id) => id === newer.deploymentId }),
    );
    expect(launchedNewer.superseded).toEqual([]);
    expect(launchedNewer.skipped).toEqual([
      { service: "iperf-server-42", reason: "the newest copy was launched by this driver process" },
    ]);
    expect(
      findSupersededCopies([old, newer], rules({ launchedHere: (id) => id === old.deploymentId })).superseded,
    ).toEqual([]);
  });

  it("skips, with the reason: a replacement that does not run, two copies on one node, different images, a tie", () => {
    const reasons = (copies: PlacedCopy[]): string[] =>
      findSupersededCopies(copies, rules()).skipped.map((s) => s.reason);
    expect(reasons([copy("pi-1", "a", 1), copy("pi-2", "b", 2, { state: "exited" })])).toEqual([
      "the newest copy (pi-2) is exited, not running",
    ]);
    expect(reasons([copy("pi-1", "a", 1), copy("pi-1", "b", 2)])).toEqual([
      "a node holds more than one copy",
    ]);
    expect(reasons([copy("pi-1", "a", 1), copy("pi-2", "b", 2, { image: "other:1" })])).toEqual([
      "the copies run different images",
    ]);
    expect(reasons([copy("pi-1", "a", 1), copy("pi-2", "b", 1)])).toEqual(["no single newest copy"]);
  });

  it("skips names that may have been cut: scaled-out VNFCs of a long-named VNF share one", () => {
    const cut = serviceName(`${"line-2-gateway-".repeat(5)}-123`);
    const r = findSupersededCopies(
      [copy("pi-1", "a", 1, { service: cut }), copy("pi-2", "b", 2, { service: cut })],
      rules(),
    );
    expect(r.superseded).toEqual([]);
    expect(r.skipped[0]?.reason).toContain("cut at 63");
  });
});
