/**
 * Real HTTP on loopback for the REST fuzz tests: the express app behind a node http server on 127.0.0.1, up to
 * eight keep-alive connections, each generated request sent and its response read whole.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import type express from "express";

export interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
}

export interface FuzzResponse {
  status: number;
  contentType: string;
  text: string;
}

export async function serve(app: express.Express): Promise<{
  send(req: FuzzRequest): Promise<FuzzResponse>;
  close(): Promise<void>;
}> {
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  const send = (r: FuzzRequest): Promise<FuzzResponse> =>
    new Promise((resolve, reject) => {
      const req = http.request(
        { host: "127.0.0.1", port, method: r.method, path: r.path, headers: r.headers, agent },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () =>
            resolve({
              status: res.statusCode ?? 0,
              contentType: String(res.headers["content-type"] ?? ""),
              text: Buffer.concat(chunks).toString("utf8"),
            }),
          );
          res.on("error", reject);
        },
      );
      req.on("error", reject);
      req.end(r.body);
    });
  return {
    send,
    close: async () => {
      agent.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A path segment as a client sends it: the text (lone surrogates made U+FFFD) percent-encoded. */
export const segment = (s: string): string =>
  encodeURIComponent(Buffer.from(s, "utf8").toString("utf8")).slice(0, 300) || "x";
