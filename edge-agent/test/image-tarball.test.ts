import { createHash } from "node:crypto";
import { IotFogError } from "@openiotfog/shared";
import { checkImageTarball } from "@openiotfog/edge-agent/image-tarball";

/** A ustar archive as Go's archive/tar (and so `docker save`) writes one; `pax` adds an extended header first. */
interface Entry {
  name: string;
  body?: string | Buffer;
  type?: string;
  link?: string;
  pax?: Record<string, string>;
  corruptChecksum?: boolean;
}

function header(name: string, size: number, type: string, link = "", corrupt = false): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0, 100, "utf8");
  h.write("0000644\0", 100);
  h.write("0000000\0", 108);
  h.write("0000000\0", 116);
  h.write(`${size.toString(8).padStart(11, "0")}\0`, 124);
  h.write("00000000000\0", 136);
  h.write(type, 156);
  h.write(link, 157, 100, "utf8");
  h.write("ustar\u000000", 257, "latin1");
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${(sum + (corrupt ? 1 : 0)).toString(8).padStart(6, "0")}\0 `, 148, "latin1");
  return h;
}

function padded(body: Buffer): Buffer {
  return Buffer.concat([body, Buffer.alloc((512 - (body.length % 512)) % 512)]);
}

function tar(entries: Entry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    if (e.pax !== undefined) {
      const records = Object.entries(e.pax).map(([k, v]) => {
        const rest = ` ${k}=${v}\n`;
        let len = rest.length + 1;
        while (`${len}${rest}`.length !== len) len += 1;
        return `${len}${rest}`;
      });
      const body = Buffer.from(records.join(""));
      parts.push(header("PaxHeaders/x", body.length, "x"), padded(body));
    }
    const body = Buffer.from(e.body ?? "");
    parts.push(header(e.name, body.length, e.type ?? "0", e.link, e.corruptChecksum), padded(body));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

const reader = (archive: Buffer) => async (position: number, length: number) =>
  archive.subarray(position, position + length);

const config = JSON.stringify({
  architecture: "amd64",
  os: "linux",
  rootfs: { type: "layers", diff_ids: [] },
});
const imageId = `sha256:${createHash("sha256").update(config).digest("hex")}`;
const configName = `${imageId.slice(7)}.json`;
const manifest = (over: Record<string, unknown> = {}) =>
  JSON.stringify([{ Config: configName, RepoTags: ["factory/app:1"], Layers: ["abc/layer.tar"], ...over }]);
const good = (): Entry[] => [
  { name: configName, body: config },
  { name: "abc/", type: "5" },
  { name: "abc/layer.tar", body: "layer bytes" },
  { name: "manifest.json", body: manifest() },
];

async function refusal(archive: Buffer, want = { imageId, tag: "factory/app:1" }): Promise<unknown> {
  try {
    await checkImageTarball(reader(archive), want);
  } catch (e) {
    return e instanceof IotFogError ? { code: e.code, field: e.details?.field } : e;
  }
  return "accepted";
}

describe("copied image tarball check (before docker load)", () => {
  it("accepts the expected image under the expected tag, also with ./ names and a PAX path", async () => {
    expect(await refusal(tar(good()))).toBe("accepted");
    const dotted = good().map((e) => ({ ...e, name: `./${e.name}` }));
    expect(await refusal(tar(dotted))).toBe("accepted");
    const viaPax = good().map((e) =>
      e.name === "manifest.json" ? { ...e, name: "x", pax: { path: e.name } } : e,
    );
    expect(await refusal(tar(viaPax))).toBe("accepted");
    // `repo` and `repo:latest` are the same tag.
    const latest = good().map((e) =>
      e.name === "manifest.json" ? { ...e, body: manifest({ RepoTags: ["factory/app"] }) } : e,
    );
    expect(await refusal(tar(latest), { imageId, tag: "factory/app:latest" })).toBe("accepted");
  });

  it("refuses another image (config digest) under the expected tag, naming Config", async () => {
    const other = JSON.stringify({ architecture: "amd64", os: "linux", config: { Cmd: ["evil"] } });
    const entries = good().map((e) => (e.name === configName ? { ...e, body: other } : e));
    expect(await refusal(tar(entries))).toEqual({ code: "IMAGE_REJECTED", field: "Config" });
  });

  it("refuses tags other than the one copied (an existing tag would be moved), naming RepoTags", async () => {
    const entries = good().map((e) =>
      e.name === "manifest.json"
        ? { ...e, body: manifest({ RepoTags: ["factory/app:1", "base:latest"] }) }
        : e,
    );
    expect(await refusal(tar(entries))).toEqual({ code: "IMAGE_REJECTED", field: "RepoTags" });
    expect(await refusal(tar(good()), { imageId, tag: "factory/other:1" })).toEqual({
      code: "IMAGE_REJECTED",
      field: "RepoTags",
    });
  });

  it("refuses manifests with two images, foreign layer sources or a parent", async () => {
    const two = JSON.stringify([JSON.parse(manifest())[0], JSON.parse(manifest())[0]]);
    for (const body of [two, manifest({ LayerSources: {} }), manifest({ Parent: "sha256:00" }), "{"]) {
      const entries = good().map((e) => (e.name === "manifest.json" ? { ...e, body } : e));
      expect(await refusal(tar(entries))).toEqual({ code: "IMAGE_REJECTED", field: "manifest.json" });
    }
  });

  it("refuses archives Docker could read differently: duplicate names, links, escapes, bad checksums", async () => {
    const cases: Entry[][] = [
      [...good(), { name: "./manifest.json", body: manifest() }],
      [{ name: "manifest.json", type: "2", link: "../other/manifest.json" }, ...good()],
      [
        ...good().filter((e) => e.name !== configName),
        { name: configName, type: "1", link: "abc/layer.tar" },
      ],
      [{ name: "../escape", body: "x" }, ...good()],
      good().map((e) => (e.name === "manifest.json" ? { ...e, corruptChecksum: true } : e)),
      good().map((e) => (e.name === "abc/" ? { ...e, pax: { "GNU.sparse.map": "0,1" } } : e)),
    ];
    for (const entries of cases) {
      expect(await refusal(tar(entries))).toEqual({ code: "IMAGE_REJECTED", field: "tar" });
    }
    // The end marker missing (a truncated archive).
    const whole = tar(good());
    expect(await refusal(whole.subarray(0, whole.length - 1024))).toEqual({
      code: "IMAGE_REJECTED",
      field: "tar",
    });
  });

  it("accepts the layer symlinks docker save writes for shared layers", async () => {
    const entries = [...good(), { name: "def/layer.tar", type: "2", link: "../abc/layer.tar" }];
    expect(await refusal(tar(entries))).toBe("accepted");
  });
});
