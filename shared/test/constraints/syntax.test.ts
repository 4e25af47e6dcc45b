import {
  IotFogError,
  parseConstraints,
  parsePreferences,
  parseSpread,
  type ConstraintInput,
  type ConstraintSet,
} from "@openiotfog/shared";

const plain = (requirements: ConstraintSet["requirements"]): ConstraintSet => ({
  requirements,
  distinctHosts: false,
  distinctProperties: [],
});

describe("constraint syntax: both forms give the same AST", () => {
  it.each<[string, ConstraintInput, ConstraintSet]>([
    [
      "Swarm ==",
      "node.labels.zone==line-1",
      plain([{ attribute: "node.labels.zone", operator: "equal", value: "line-1" }]),
    ],
    [
      "Swarm != with spaces",
      " node.hostname != pi-07 ",
      plain([{ attribute: "node.hostname", operator: "not_equal", value: "pi-07" }]),
    ],
    [
      "engine labels",
      "engine.labels.os==ubuntu",
      plain([{ attribute: "engine.labels.os", operator: "equal", value: "ubuntu" }]),
    ],
    [
      "quoted value",
      'node.labels.room=="hall 3"',
      plain([{ attribute: "node.labels.room", operator: "equal", value: "hall 3" }]),
    ],
    [
      "single quotes",
      "node.labels.room=='hall 3'",
      plain([{ attribute: "node.labels.room", operator: "equal", value: "hall 3" }]),
    ],
    [
      "symbolic >=",
      "node.resources.memory.free>=2GiB",
      plain([{ attribute: "node.resources.memory.free", operator: "greater_or_equal", value: "2GiB" }]),
    ],
    [
      "regexp =~",
      "node.hostname=~^pi-",
      plain([{ attribute: "node.hostname", operator: "regexp", value: "^pi-" }]),
    ],
    [
      "regexp starting with [",
      "node.hostname =~ [02468]$",
      plain([{ attribute: "node.hostname", operator: "regexp", value: "[02468]$" }]),
    ],
    [
      "word operator",
      'node.software.docker version ">= 20.10"',
      plain([{ attribute: "node.software.docker", operator: "version", value: ">= 20.10" }]),
    ],
    [
      "word operator, no value",
      "node.labels.gpu is_set",
      plain([{ attribute: "node.labels.gpu", operator: "is_set" }]),
    ],
    [
      "list value",
      'node.labels.line in [line-1, "line 2"]',
      plain([{ attribute: "node.labels.line", operator: "valid_values", value: ["line-1", "line 2"] }]),
    ],
    [
      "&& in one string",
      "node.labels.a==1 && node.labels.b==2",
      plain([
        { attribute: "node.labels.a", operator: "equal", value: "1" },
        { attribute: "node.labels.b", operator: "equal", value: "2" },
      ]),
    ],
    [
      "|| makes OR groups",
      "node.labels.a==1 && node.labels.b==2 || node.labels.c==3",
      plain([
        {
          anyOf: [
            [
              { attribute: "node.labels.a", operator: "equal", value: "1" },
              { attribute: "node.labels.b", operator: "equal", value: "2" },
            ],
            [{ attribute: "node.labels.c", operator: "equal", value: "3" }],
          ],
        },
      ]),
    ],
    [
      "|| inside quotes is a value",
      'node.labels.x=="a||b"',
      plain([{ attribute: "node.labels.x", operator: "equal", value: "a||b" }]),
    ],
    [
      "Nomad full form",
      { attribute: "node.labels.zone", operator: "=", value: "line-1" },
      plain([{ attribute: "node.labels.zone", operator: "equal", value: "line-1" }]),
    ],
    [
      "Nomad default operator",
      { attribute: "node.labels.zone", value: "line-1" },
      plain([{ attribute: "node.labels.zone", operator: "equal", value: "line-1" }]),
    ],
    [
      "Nomad interpolation",
      { attribute: "${meta.rack}", operator: "!=", value: "r1" },
      plain([{ attribute: "node.labels.rack", operator: "not_equal", value: "r1" }]),
    ],
    [
      "TOSCA clause",
      { "node.resources.cpu.cores": { in_range: [2, 8] } },
      plain([{ attribute: "node.resources.cpu.cores", operator: "in_range", value: [2, 8] }]),
    ],
    [
      "TOSCA clause list",
      { "node.labels.cell": [{ min_length: 2 }, { max_length: 8 }] },
      plain([
        { attribute: "node.labels.cell", operator: "min_length", value: 2 },
        { attribute: "node.labels.cell", operator: "max_length", value: 8 },
      ]),
    ],
    [
      "TOSCA shorthand",
      { "node.labels.zone": "line-1" },
      plain([{ attribute: "node.labels.zone", operator: "equal", value: "line-1" }]),
    ],
    [
      "any_of block",
      { any_of: [["node.labels.a==1"], "node.labels.b==2 && node.labels.c==3"] },
      plain([
        {
          anyOf: [
            [{ attribute: "node.labels.a", operator: "equal", value: "1" }],
            [
              { attribute: "node.labels.b", operator: "equal", value: "2" },
              { attribute: "node.labels.c", operator: "equal", value: "3" },
            ],
          ],
        },
      ]),
    ],
  ])("%s", (_name, input, expected) => {
    expect(parseConstraints([input])).toEqual(expected);
  });

  it.each<[ConstraintInput, Partial<ConstraintSet>]>([
    ["distinct_hosts", { distinctHosts: true }],
    ["distinct_hosts=true", { distinctHosts: true }],
    [{ distinct_hosts: true }, { distinctHosts: true }],
    [{ operator: "distinct_hosts" }, { distinctHosts: true }],
    [
      "distinct_property node.labels.cell",
      { distinctProperties: [{ attribute: "node.labels.cell", limit: 1 }] },
    ],
    [
      "distinct_property node.labels.cell 2",
      { distinctProperties: [{ attribute: "node.labels.cell", limit: 2 }] },
    ],
    [
      { distinct_property: { attribute: "node.labels.rack", limit: 3 } },
      { distinctProperties: [{ attribute: "node.labels.rack", limit: 3 }] },
    ],
    [
      { attribute: "${meta.rack}", operator: "distinct_property", value: "2" },
      { distinctProperties: [{ attribute: "node.labels.rack", limit: 2 }] },
    ],
    ["max_per_node 2", { maxPerNode: 2 }],
    ["max_replicas=1", { maxPerNode: 1 }],
    [{ max_per_node: 3 }, { maxPerNode: 3 }],
  ])("placement rule %j", (input, expected) => {
    expect(parseConstraints([input])).toMatchObject(expected);
  });

  it("accepts a single constraint outside a list and an empty list", () => {
    expect(parseConstraints("node.role==manager").requirements).toHaveLength(1);
    expect(parseConstraints([])).toEqual(plain([]));
  });

  it("the AST survives JSON", () => {
    const set = parseConstraints([
      "node.labels.a==1 || node.labels.b==2",
      { "node.resources.cpu.cores": { in_range: [1, 4] } },
      "distinct_hosts",
    ]);
    expect(JSON.parse(JSON.stringify(set))).toEqual(set);
  });
});

describe("malformed constraints: precise errors, never a crash", () => {
  it.each<[unknown, string]>([
    ["", 'field "[0]": empty constraint'],
    ["   ", 'field "[0]": empty constraint'],
    ["node.labels.zone", 'field "[0]": cannot read "node.labels.zone": expected "attribute OP value"'],
    ["node.labels.zone==", 'field "[0]": "node.labels.zone==" has no value after "=="'],
    ["node.labels.gpu==''", 'field "[0]": operator equal needs a non-empty value'],
    ["node.foo==bar", 'field "[0]": unknown attribute "node.foo" (known: node.id, node.hostname'],
    ["node.labels.==x", 'field "[0]": attribute "node.labels." needs a key after "node.labels."'],
    ["node.labels.zone like x", 'field "[0]": unknown operator "like" (known: equal, not_equal'],
    ["node.labels.zone is_set yes", 'field "[0]": operator is_set takes no value'],
    ["node.labels.zone version", 'field "[0]": operator version needs a value'],
    ['node.labels.zone=="open', 'field "[0]": unterminated quote in'],
    ["node.labels.line in [a, b", 'field "[0]": list "[a, b" is missing its closing "]"'],
    [
      "node.labels.line in []",
      'field "[0]": operator valid_values needs a non-empty list of non-empty values',
    ],
    [
      "node.resources.memory.free >= lots",
      'field "[0]": node.resources.memory.free takes a size such as 512MiB or 2GB, got "lots"',
    ],
    [
      "node.resources.memory.free >= 1.2GHz",
      'field "[0]": node.resources.memory.free takes a size such as 512MiB or 2GB, got "1.2GHz"',
    ],
    [
      "node.resources.cpu.mhz >= 2GB",
      'field "[0]": node.resources.cpu.mhz takes a frequency such as 1.2GHz, got "2GB"',
    ],
    [
      "node.resources.cpu.cores > 2GiB",
      'field "[0]": node.resources.cpu.cores takes a plain number, got "2GiB"',
    ],
    ["node.labels.ram >= 2XB", 'field "[0]": "2XB" has an unknown unit'],
    ["node.protocols > 3", 'field "[0]": node.protocols is a set; ordering operators need a single value'],
    [
      "node.software.docker >= banana",
      'field "[0]": node.software.docker is a version; "banana" is not a version',
    ],
    ['node.software.docker version "not a range"', 'field "[0]": "not a range" is not a version range'],
    ["node.hostname =~ (", 'field "[0]": invalid regular expression "("'],
    // RE2 syntax: no back-references, no look-around (they are what makes a backtracking engine slow).
    [
      "node.hostname =~ (a)\\1",
      'field "[0]": invalid regular expression "(a)\\\\1": invalid escape sequence',
    ],
    [{ "node.hostname": { pattern: "(?=pi)pi" } }, 'field "[0]": invalid regular expression "(?=pi)pi"'],
    [{ "node.hostname": { pattern: "a{1001}" } }, "invalid repeat count"],
    [
      { "node.hostname": { pattern: "x".repeat(513) } },
      "regular expression is 513 characters long; at most 512",
    ],
    [
      { "node.labels.cell": { length: -1 } },
      'field "[0]": operator length needs a whole number >= 0, got -1',
    ],
    [{ "node.labels.cell": { length: 1.5 } }, "operator length needs a whole number >= 0, got 1.5"],
    [
      { "node.resources.cpu.cores": { in_range: [4] } },
      "operator in_range needs a list of two values [low, high]",
    ],
    [{ "node.resources.cpu.cores": { in_range: [8, 2] } }, "in_range low 8 is above high 2"],
    [{ "node.labels.zone": { equal: ["a"] } }, "operator equal takes one value, not a list"],
    [
      { "node.labels.zone": { equal: { nested: 1 } } },
      'value must be a string, number, boolean or a list of them, got {"nested":1}',
    ],
    [
      { "node.labels.zone": 5, "node.labels.line": 6 },
      "a TOSCA constraint maps one attribute to its clauses; got keys node.labels.zone, node.labels.line",
    ],
    [{}, "empty constraint object"],
    [{ "node.labels.zone": [] }, 'field "[0]": node.labels.zone has no clauses; write e.g. {equal: value}'],
    [
      { "node.labels.zone": [42] },
      "clauses of node.labels.zone must be like {greater_or_equal: 2GiB}, got 42",
    ],
    [
      { attribute: "node.labels.zone", operator: "==", value: "x", weight: 3 },
      "unexpected key(s) weight next to attribute/operator/value",
    ],
    [{ attribute: 42, operator: "==" }, "attribute must be a non-empty string"],
    [{ attribute: "node.labels.zone", operator: 7 }, "operator must be a string"],
    [{ any_of: [] }, 'field "[0].any_of": must be a non-empty list of groups'],
    [{ any_of: "node.labels.a==1" }, 'field "[0].any_of": must be a non-empty list of groups'],
    [{ any_of: [["node.labels.a==1"], []] }, 'field "[0].any_of[1]": a group needs at least one term'],
    [
      { any_of: [[{ any_of: [["node.labels.a==1"]] }]] },
      'field "[0].any_of[0][0]": any_of blocks cannot be nested',
    ],
    [{ any_of: [["node.bogus==1"]] }, 'field "[0].any_of[0][0]": unknown attribute "node.bogus"'],
    [{ any_of: [["node.labels.a==1"]], extra: 1 }, 'field "[0]": any_of must be the only key of its entry'],
    ["distinct_hosts=maybe", 'distinct_hosts takes true or false, got "maybe"'],
    ["distinct_property", "distinct_property needs an attribute"],
    [
      "distinct_property node.labels.cell zero",
      'distinct_property limit must be a whole number >= 1, got "zero"',
    ],
    ["distinct_property node.nope 1", 'unknown attribute "node.nope"'],
    ["max_per_node 0", 'max_per_node must be a whole number >= 1, got "0"'],
    ["max_per_node lots", 'max_per_node must be a whole number >= 1, got "lots"'],
    [42, 'field "[0]": expected a constraint string or object, got 42'],
    [null, 'field "[0]": expected a constraint string or object, got null'],
    [["nested list"], 'field "[0]": expected a constraint string or object, got ["nested list"]'],
  ])("%j → %s", (input, message) => {
    let error: unknown;
    try {
      parseConstraints([input as ConstraintInput], "vnfd zigbee2mqtt");
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(IotFogError);
    expect((error as IotFogError).code).toBe("VALIDATION_FAILED");
    expect((error as IotFogError).message).toContain(message);
    expect((error as IotFogError).message.startsWith("vnfd zigbee2mqtt: ")).toBe(true);
  });

  it("reports every bad entry at once, each with its index", () => {
    expect(() =>
      parseConstraints(["node.labels.a==1", "node.x==1", "node.labels.b", "node.labels.c==3"]),
    ).toThrow(/field "\[1\]": unknown attribute "node.x".*; field "\[2\]": cannot read "node.labels.b"/);
  });
});

describe("preferences and spread", () => {
  it("reads preferences in every form", () => {
    expect(
      parsePreferences([
        { weight: 80, constraint: "node.labels.zone==line-1" },
        { weight: -40, attribute: "node.role", operator: "==", value: "manager" },
        { weight: 10, "node.resources.cpu.cores": { greater_or_equal: 4 } },
        "node.protocols set_contains opcua",
      ]),
    ).toEqual([
      { weight: 80, term: { attribute: "node.labels.zone", operator: "equal", value: "line-1" } },
      { weight: -40, term: { attribute: "node.role", operator: "equal", value: "manager" } },
      { weight: 10, term: { attribute: "node.resources.cpu.cores", operator: "greater_or_equal", value: 4 } },
      { weight: 50, term: { attribute: "node.protocols", operator: "set_contains", value: "opcua" } },
    ]);
  });

  it.each<[unknown, string]>([
    [
      { weight: 0, constraint: "node.labels.a==1" },
      'field "[0]": weight must be a whole number from -100 to 100 other than 0, got 0',
    ],
    [{ weight: 101, constraint: "node.labels.a==1" }, "got 101"],
    [{ weight: -101, constraint: "node.labels.a==1" }, "got -101"],
    [{ weight: "high", constraint: "node.labels.a==1" }, 'got "high"'],
    [{ weight: 10, constraint: "node.labels.a==1 && node.labels.b==2" }, "a preference is exactly one term"],
    [{ weight: 10, constraint: "node.nope==1" }, 'unknown attribute "node.nope"'],
    [{ weight: 10 }, "empty constraint object"],
  ])("bad preference %j → %s", (input, message) => {
    expect(() => parsePreferences([input])).toThrow(message);
  });

  it("reads spread in every form", () => {
    expect(
      parseSpread([
        "node.labels.cell",
        "spread=node.labels.line",
        { attribute: "node.labels.zone", weight: 20, targets: { a: 70, b: 30 } },
      ]),
    ).toEqual([
      { attribute: "node.labels.cell", weight: 50, targets: [] },
      { attribute: "node.labels.line", weight: 50, targets: [] },
      {
        attribute: "node.labels.zone",
        weight: 20,
        targets: [
          { value: "a", percent: 70 },
          { value: "b", percent: 30 },
        ],
      },
    ]);
  });

  it.each<[unknown, string]>([
    [
      { attribute: "node.labels.cell", weight: 0 },
      "spread weight must be a whole number from 1 to 100, got 0",
    ],
    [
      { attribute: "node.labels.cell", targets: { a: 80, b: 30 } },
      "spread target percentages add up to 110, more than 100",
    ],
    [
      { attribute: "node.labels.cell", targets: { a: "lots" } },
      'spread target a needs a percent from 0 to 100, got "lots"',
    ],
    [
      { attribute: "node.labels.cell", targets: [{ value: { x: 1 }, percent: 5 }] },
      "spread target value must be text",
    ],
    [{ attribute: "node.labels.cell", over: "x" }, "unexpected key(s) over in spread"],
    [{ weight: 3 }, "a spread needs an attribute"],
    ["node.whatever", 'unknown attribute "node.whatever"'],
    [7, "a spread needs an attribute, e.g. node.labels.line; got 7"],
  ])("bad spread %j → %s", (input, message) => {
    expect(() => parseSpread([input])).toThrow(message);
  });
});
