import http from "node:http";
import type { AddressInfo } from "node:net";
import {
  EXPOSITION_CONTENT_TYPE,
  Exposition,
  LabelledHistogram,
  acceptsToken,
  bearerToken,
  renderLabels,
  serveMetrics,
} from "@openiotfog/shared";

const REST_TOKEN = "rest-token-for-tests";
const SCRAPE_TOKEN = "scrape-token-0123456789";

async function serve(open = false): Promise<{ url: string; close: () => Promise<void> }> {
  const registry = {
    contentType: EXPOSITION_CONTENT_TYPE,
    metrics: async () =>
      new Exposition().family("iotfog_test_things_total", "counter", "Things.", [["", 3]]).text(),
  };
  const server = http.createServer((req, res) =>
    serveMetrics({ registry, tokens: [REST_TOKEN, SCRAPE_TOKEN], open, realm: "test" }, req, res),
  );
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/metrics`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

describe("the metrics endpoint", () => {
  it("answers 401 with a challenge without a token or with a wrong one", async () => {
    const s = await serve();
    try {
      const none = await fetch(s.url);
      expect(none.status).toBe(401);
      expect(none.headers.get("www-authenticate")).toBe('Bearer realm="test"');
      const wrong = await fetch(s.url, { headers: { authorization: "Bearer not-the-token-at-all" } });
      expect(wrong.status).toBe(401);
      expect(await wrong.text()).not.toContain("iotfog_test_things_total");
      const basic = await fetch(s.url, { headers: { authorization: `Basic ${REST_TOKEN}` } });
      expect(basic.status).toBe(401);
    } finally {
      await s.close();
    }
  });

  it("serves the text exposition format to the REST token and to the scrape token", async () => {
    const s = await serve();
    try {
      for (const token of [REST_TOKEN, SCRAPE_TOKEN]) {
        const res = await fetch(s.url, { headers: { authorization: `Bearer ${token}` } });
        expect(res.status).toBe(200);
        expect(res.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
        const text = await res.text();
        expect(text).toContain("# TYPE iotfog_test_things_total counter");
        expect(text).toContain("iotfog_test_things_total 3");
      }
      const post = await fetch(s.url, { method: "POST", headers: { authorization: `Bearer ${REST_TOKEN}` } });
      expect(post.status).toBe(405);
    } finally {
      await s.close();
    }
  });

  it("needs no token when reads are open", async () => {
    const s = await serve(true);
    try {
      const res = await fetch(s.url);
      expect(res.status).toBe(200);
      expect(await res.text()).toContain("iotfog_test_things_total 3");
    } finally {
      await s.close();
    }
  });

  it("parses bearer headers and compares tokens whatever their length", () => {
    expect(bearerToken("Bearer abc")).toBe("abc");
    expect(bearerToken("bearer   abc  ")).toBe("abc");
    expect(bearerToken("Basic abc")).toBeUndefined();
    expect(bearerToken(undefined)).toBeUndefined();
    expect(acceptsToken("abc", ["xyz", "abc"])).toBe(true);
    expect(acceptsToken("ab", ["abc"])).toBe(false);
    expect(acceptsToken("abc", [])).toBe(false);
  });
});

describe("the hand-written exposition", () => {
  it("escapes label values and help, and renders cumulative histogram buckets", () => {
    const h = new LabelledHistogram([0.1, 1]);
    h.observe({ command: "deploy" }, 0.05);
    h.observe({ command: "deploy" }, 0.5);
    h.observe({ command: "deploy" }, 5);
    const text = new Exposition()
      .family("iotfog_x", "gauge", "Line one\nline two.", [[renderLabels({ a: 'q"b\\c\nd' }), 1.5]])
      .histogram("iotfog_y_seconds", "Y.", h)
      .text();
    expect(text).toBe(
      [
        "# HELP iotfog_x Line one\\nline two.",
        "# TYPE iotfog_x gauge",
        'iotfog_x{a="q\\"b\\\\c\\nd"} 1.5',
        "# HELP iotfog_y_seconds Y.",
        "# TYPE iotfog_y_seconds histogram",
        'iotfog_y_seconds_bucket{le="0.1",command="deploy"} 1',
        'iotfog_y_seconds_bucket{le="1",command="deploy"} 2',
        'iotfog_y_seconds_bucket{le="+Inf",command="deploy"} 3',
        'iotfog_y_seconds_sum{command="deploy"} 5.55',
        'iotfog_y_seconds_count{command="deploy"} 3',
        "",
      ].join("\n"),
    );
  });
});
