import { IotFogError, loadBlueprintFile, orderByDependencies, parseBlueprint } from "@openiotfog/shared";

const header = `tosca_definitions_version: openiotfog_blueprint_1_0
metadata:
  name: demo
topology_template:
  node_templates:
`;

/** A blueprint whose node templates are `templates` (indented under node_templates). */
function doc(templates: string): string {
  return header + templates.replace(/^/gm, "    ");
}

function errorOf(text: string, source = "demo.yaml"): string {
  try {
    parseBlueprint(text, source);
  } catch (e) {
    expect(e).toBeInstanceOf(IotFogError);
    expect((e as IotFogError).code).toBe("VALIDATION_FAILED");
    return (e as IotFogError).message;
  }
  throw new Error("expected the blueprint to be refused");
}

describe("blueprint parsing", () => {
  it("maps every property onto the ServiceSpec", () => {
    const bp = parseBlueprint(
      doc(`api:
  type: openiotfog.nodes.Container
  description: the API
  properties:
    image: openiotfog/testbox:latest
    command: "httpd -f -p 8080"
    environment: { PORT: 8080, DEBUG: true, NAME: api }
    ports: [8080, "9090:90", "5683/udp", { container: 7000, host: 7001, protocol: udp }]
    volumes: ["/srv/api:/data:ro", "cache:/cache", { source: /etc/x, target: /x, read_only: true }]
    restart: on-failure
    replicas: 2
    max_per_node: 1
    resources: { cpus: 0.5, memory: 256MiB, disk: 1GB }
    networks: [plant]
    hostname: api-1
    dns: [10.0.0.53, "fd00::53"]
    labels: { tier: 2 }
  requirements:
    - dependency: db
    - device: { class: serial, vendor_id: 0403, product_id: 6001, serial: 1234, exclusive: false, container_path: /dev/ttyUSB9 }
  placement:
    constraints: [node.labels.zone==line-1, { node.resources.memory.free: { greater_or_equal: 1GiB } }]
    preferences: [{ weight: 30, constraint: node.labels.cell == c1 }]
    spread: [node.labels.cell]
db:
  type: openiotfog.nodes.Container
  properties: { image: "postgres:16" }
`),
      "demo.yaml",
    );
    expect(bp.name).toBe("demo");
    expect(bp.services.map((s) => s.name)).toEqual(["db", "api"]);
    const api = bp.services[1]!;
    expect(api).toMatchObject({
      command: ["sh", "-c", "httpd -f -p 8080"],
      env: { PORT: "8080", DEBUG: "true", NAME: "api" },
      ports: [
        { container: 8080, protocol: "tcp" },
        { container: 90, host: 9090, protocol: "tcp" },
        { container: 5683, protocol: "udp" },
        { container: 7000, host: 7001, protocol: "udp" },
      ],
      volumes: [
        { source: "/srv/api", target: "/data", readOnly: true },
        { source: "cache", target: "/cache", readOnly: false },
        { source: "/etc/x", target: "/x", readOnly: true },
      ],
      restart: "on-failure",
      replicas: 2,
      maxPerNode: 1,
      resources: { cpus: 0.5, memoryBytes: 256 * 1024 ** 2, diskBytes: 1e9 },
      networks: ["plant"],
      hostname: "api-1",
      dns: ["10.0.0.53", "fd00::53"],
      labels: { tier: "2" },
      dependsOn: ["db"],
      devices: [
        {
          class: "serial",
          vendorId: "403",
          productId: "6001",
          serial: "1234",
          exclusive: false,
          containerPath: "/dev/ttyUSB9",
        },
      ],
      preferences: [{ weight: 30, term: { attribute: "node.labels.cell", operator: "equal", value: "c1" } }],
      spread: [{ attribute: "node.labels.cell", weight: 50, targets: [] }],
    });
    expect(api.constraints.requirements).toHaveLength(2);
    expect(bp.services[0]).toMatchObject({ name: "db", replicas: 1, restart: "unless-stopped", devices: [] });
  });

  // [case, document, message fragments: file, line and field]
  it.each<[string, string, string]>([
    [
      "YAML syntax",
      `${header}    a: [unclosed\n`,
      "YAML syntax: demo.yaml:7:1: Flow sequence in block collection must be sufficiently indented and end with a ]",
    ],
    [
      "duplicate key",
      `${header}    a:\n      type: x\n    a:\n      type: y\n`,
      "YAML syntax: demo.yaml:8:5: Map keys must be unique",
    ],
    [
      "wrong version",
      header.replace("openiotfog_blueprint_1_0", "tosca_simple_yaml_1_3") + "    x: {}\n",
      'demo.yaml:1: field "tosca_definitions_version": must be openiotfog_blueprint_1_0',
    ],
    ["not a mapping", "- just\n- a list\n", 'demo.yaml:1: field "(root)": Expected object, received array'],
    ["empty document", "", 'demo.yaml:?: field "(root)": Expected object, received null'],
    [
      "no templates",
      header + "    {}\n",
      'demo.yaml:6: field "topology_template.node_templates": needs at least one node template',
    ],
    [
      "missing image",
      doc("web:\n  type: openiotfog.nodes.Container\n  properties:\n    replicas: 1\n"),
      'demo.yaml:9: field "topology_template.node_templates.web.properties.image": Required',
    ],
    [
      "wrong type",
      doc("web:\n  type: tosca.nodes.Compute\n  properties: { image: x }\n"),
      'demo.yaml:7: field "topology_template.node_templates.web.type": must be openiotfog.nodes.Container',
    ],
    [
      "unknown property",
      doc("web:\n  type: openiotfog.nodes.Container\n  properties:\n    image: x\n    imagee: y\n"),
      "demo.yaml:9: field \"topology_template.node_templates.web.properties\": Unrecognized key(s) in object: 'imagee'",
    ],
    [
      "bad host name",
      doc("web:\n  type: openiotfog.nodes.Container\n  properties:\n    image: x\n    hostname: -web\n"),
      'demo.yaml:10: field "topology_template.node_templates.web.properties.hostname": must be a host name',
    ],
    [
      "bad DNS server",
      doc(
        "web:\n  type: openiotfog.nodes.Container\n  properties:\n    image: x\n    dns: [10.0.0.53, resolver]\n",
      ),
      'demo.yaml:10: field "topology_template.node_templates.web.properties.dns[1]": must be an IP address',
    ],
    [
      "bad replicas",
      doc("web:\n  type: openiotfog.nodes.Container\n  properties:\n    image: x\n    replicas: -1\n"),
      'demo.yaml:10: field "topology_template.node_templates.web.properties.replicas": Number must be greater than or equal to 0',
    ],
    [
      "bad restart",
      doc("web:\n  type: openiotfog.nodes.Container\n  properties:\n    image: x\n    restart: sometimes\n"),
      'demo.yaml:10: field "topology_template.node_templates.web.properties.restart": Invalid enum value',
    ],
    [
      "bad memory",
      doc(
        "web:\n  type: openiotfog.nodes.Container\n  properties:\n    image: x\n    resources:\n      memory: 2 GHz\n",
      ),
      'demo.yaml:11: field "topology_template.node_templates.web.properties.resources.memory": "2 GHz" is not a size such as 512MiB or 1GB',
    ],
    [
      "bad port",
      doc("web:\n  type: openiotfog.nodes.Container\n  properties:\n    image: x\n    ports: [8080, http]\n"),
      'demo.yaml:10: field "topology_template.node_templates.web.properties.ports[1]": port "http" must look like 8080',
    ],
    [
      "port out of range",
      doc('web:\n  type: openiotfog.nodes.Container\n  properties:\n    image: x\n    ports: ["99999"]\n'),
      'demo.yaml:10: field "topology_template.node_templates.web.properties.ports[0].container": Number must be less than or equal to 65535',
    ],
    [
      "bad volume",
      doc(
        "web:\n  type: openiotfog.nodes.Container\n  properties:\n    image: x\n    volumes: [/just/one]\n",
      ),
      'demo.yaml:10: field "topology_template.node_templates.web.properties.volumes[0]": volume "/just/one" must look like',
    ],
    [
      "relative volume target",
      doc('web:\n  type: openiotfog.nodes.Container\n  properties:\n    image: x\n    volumes: ["a:b"]\n'),
      'field "topology_template.node_templates.web.properties.volumes[0].target": must be an absolute path in the container',
    ],
    [
      "bad constraint",
      doc(
        "web:\n  type: openiotfog.nodes.Container\n  properties: { image: x }\n  placement:\n    constraints:\n      - node.labels.a==1\n      - node.labelz.a==1\n",
      ),
      'demo.yaml:12: field "topology_template.node_templates.web.placement.constraints[1]": unknown attribute "node.labelz.a"',
    ],
    [
      "bad preference weight",
      doc(
        "web:\n  type: openiotfog.nodes.Container\n  properties: { image: x }\n  placement:\n    preferences:\n      - weight: 500\n        constraint: node.labels.a==1\n",
      ),
      'demo.yaml:11: field "topology_template.node_templates.web.placement.preferences[0]": weight must be a whole number from -100 to 100',
    ],
    [
      "bad device",
      doc(
        "web:\n  type: openiotfog.nodes.Container\n  properties: { image: x }\n  requirements:\n    - device: { exclusive: true }\n",
      ),
      'field "topology_template.node_templates.web.requirements": devices[0]: needs at least one of class, vendorId, productId, serial',
    ],
    [
      "unknown requirement",
      doc(
        "web:\n  type: openiotfog.nodes.Container\n  properties: { image: x }\n  requirements:\n    - host: pi-01\n",
      ),
      'demo.yaml:10: field "topology_template.node_templates.web.requirements[0]": Invalid input',
    ],
    [
      "unknown dependency",
      doc(
        "web:\n  type: openiotfog.nodes.Container\n  properties: { image: x }\n  requirements:\n    - dependency: db\n",
      ),
      'demo.yaml:10: field "topology_template.node_templates.web.requirements": depends on unknown node template db',
    ],
    [
      "bad service name",
      doc("Web_1:\n  type: openiotfog.nodes.Container\n  properties: { image: x }\n"),
      'demo.yaml:7: field "topology_template.node_templates.Web_1": service name must be lower-case letters',
    ],
    [
      "dependency cycle",
      doc(
        "a:\n  type: openiotfog.nodes.Container\n  properties: { image: x }\n  requirements: [{ dependency: b }]\nb:\n  type: openiotfog.nodes.Container\n  properties: { image: x }\n  requirements: [{ dependency: a }]\n",
      ),
      "demo.yaml: dependency cycle a -> b -> a",
    ],
  ])("%s: the error names file, line and field", (_name, text, message) => {
    expect(errorOf(text)).toContain(message);
  });

  it("lists every problem of a document in one error", () => {
    const message = errorOf(
      doc(
        "web:\n  type: openiotfog.nodes.Container\n  properties:\n    image: x\n    ports: [http]\n    resources: { memory: lots }\n",
      ),
    );
    expect(message).toContain("ports[0]");
    expect(message).toContain("resources.memory");
  });

  it("never crashes on odd input", () => {
    for (const text of [
      "~",
      "42",
      "'text'",
      "[[[]]]",
      "a: &x [*x]",
      "{a: 1, a: 2}",
      "\t\tbad",
      "? complex\n: key",
    ]) {
      expect(() => parseBlueprint(text, "odd.yaml")).toThrow(IotFogError);
    }
  });

  it("refuses an alias bomb (billion laughs) as VALIDATION_FAILED naming the source", () => {
    const bomb = [
      "a: &a [x, x, x, x, x, x, x, x, x, x]",
      "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]",
      "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]",
      "d: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]",
    ].join("\n");
    expect(errorOf(bomb, "bomb.yaml")).toMatch(/^bomb\.yaml: YAML: .*alias/i);
  });

  it("bounds replicas: planning every replica of a huge count would hold the driver", () => {
    expect(
      errorOf(
        doc("web:\n  type: openiotfog.nodes.Container\n  properties: { image: x, replicas: 1000000000 }\n"),
      ),
    ).toContain("must be <= 1000");
    expect(
      parseBlueprint(
        doc("web:\n  type: openiotfog.nodes.Container\n  properties: { image: x, replicas: 1000 }\n"),
      ).services[0]?.replicas,
    ).toBe(1000);
  });

  it("loadBlueprintFile names a missing file", async () => {
    await expect(loadBlueprintFile("/nonexistent/blueprint.yaml")).rejects.toMatchObject({
      code: "NOT_FOUND",
      message: "blueprint file not found: /nonexistent/blueprint.yaml",
    });
  });

  it("orders by dependencies and names unknown ones", () => {
    const s = (name: string, dependsOn: string[]) => ({ name, dependsOn });
    expect(
      orderByDependencies([s("c", ["b"]), s("b", ["a"]), s("a", []), s("d", [])]).map((x) => x.name),
    ).toEqual(["a", "b", "c", "d"]);
    expect(() => orderByDependencies([s("a", ["zz"])])).toThrow("services: a depends on unknown service zz");
  });
});
