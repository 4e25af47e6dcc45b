import http from "node:http";
import https from "node:https";
import {
  IotFogError,
  enrollmentResponseSchema,
  errorMessage,
  keyPin,
  parseJoinToken,
  parseWith,
  type EnrollmentRequest,
  type EnrollmentResponse,
} from "@openiotfog/shared";
import { ensureNodeKeyPair, writeMqttCredentials, writeTrust } from "./node-security";

/** Delivers an enrollment request to the driver side: over HTTP (`iotfog agent --join`) or in-process (`iotfog up`). */
export type EnrollmentSender = (request: EnrollmentRequest) => Promise<unknown>;

export interface JoinOptions {
  token: string;
  nodeId: string;
  /** The node's security directory (node-key.json, trust.json). */
  dir: string;
}

/**
 * Joins a fleet: makes the node's key pair here (the secret never leaves this directory), sends the public key
 * with the token, checks that the fleet key in the answer is the one the token pins (a fake driver cannot
 * answer with its own), and keeps the trust list and its MQTT credentials. Re-joining with a new token re-enrolls the same key.
 */
export async function joinFleet(opts: JoinOptions, send: EnrollmentSender): Promise<EnrollmentResponse> {
  const token = parseJoinToken(opts.token);
  const pair = await ensureNodeKeyPair(opts.dir);
  const answer = parseWith(
    enrollmentResponseSchema,
    await send({ token: opts.token.trim(), nodeId: opts.nodeId, publicKey: pair.publicKey }),
    "enrollment answer",
    "PROTOCOL_ERROR",
  );
  if (keyPin(answer.fleetKey) !== token.pin || !answer.trust.fleetKeys.includes(answer.fleetKey)) {
    throw new IotFogError(
      "UNAUTHORIZED",
      "the driver answered with a fleet key the join token does not pin: not the fleet you meant to join (nothing was kept)",
    );
  }
  if (answer.nodeId !== opts.nodeId)
    throw new IotFogError("PROTOCOL_ERROR", `enrolled as ${answer.nodeId}, asked for ${opts.nodeId}`);
  await writeTrust(opts.dir, answer.trust);
  // The node's MQTT user and password and the fleet CA, if the driver gave them (an older driver does not).
  if (answer.mqtt !== undefined) await writeMqttCredentials(opts.dir, answer.mqtt);
  return answer;
}

/**
 * Sends the enrollment to a driver's fleet API (`POST <server>/api/v1/fleet/enroll`) with node:http: the agent
 * runs with --jitless, where Node's built-in HTTP client of the browser kind is not available (docs/agent.md).
 */
export function httpEnrollment(serverUrl: string): EnrollmentSender {
  const url = new URL(`${serverUrl.replace(/\/+$/, "")}/api/v1/fleet/enroll`);
  return (request) =>
    new Promise((resolve, reject) => {
      const body = JSON.stringify(request);
      const send = url.protocol === "https:" ? https.request : http.request;
      const req = send(
        url,
        {
          method: "POST",
          headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
          timeout: 15000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => {
            let parsed: { error?: { message?: string } } = {};
            try {
              parsed = JSON.parse(Buffer.concat(chunks).toString("utf8")) as typeof parsed;
            } catch {
              // Not JSON: reported below with the status.
            }
            const status = res.statusCode ?? 0;
            if (status >= 200 && status < 300) resolve(parsed);
            else
              reject(
                new IotFogError(
                  status === 401 ? "UNAUTHORIZED" : "UNAVAILABLE",
                  `enrollment refused by ${url.href} (HTTP ${status}): ${parsed.error?.message ?? "no reason given"}`,
                ),
              );
          });
        },
      );
      req.on("timeout", () => req.destroy(new Error("no answer within 15 s")));
      req.on("error", (e) =>
        reject(
          new IotFogError("UNAVAILABLE", `cannot reach the fleet API at ${url.href}: ${errorMessage(e)}`),
        ),
      );
      req.end(body);
    });
}
