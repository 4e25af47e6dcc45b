import type { Router } from "express";
import { z } from "zod";
import { IotFogError, enrollmentRequestSchema, keyFingerprint, keyPin, parseWith } from "@openiotfog/shared";
import type { FleetSecurity } from "../security/fleet-security";
import type { TrustDistributor } from "../security/trust-distributor";

/** The driver's security parts the API exposes. */
export interface SecuritySurface {
  security: FleetSecurity;
  trust: TrustDistributor;
}

const tokenBodySchema = z
  .object({
    /** Lifetime in seconds (default one hour, at most 30 days). */
    ttlSeconds: z
      .number()
      .int()
      .min(1)
      .max(30 * 24 * 3600)
      .default(3600),
    /** How many nodes may join with it (default 1: single use). */
    uses: z.number().int().min(1).max(1000).default(1),
  })
  .strict();

/**
 * POST /fleet/enroll: the one route without the bearer token; the join token in the body is its credential.
 * A joining node has no API token, and must not need one.
 */
export function registerEnrollRoute(api: Router, surface: SecuritySurface | undefined): void {
  api.post("/fleet/enroll", async (req, res) => {
    if (surface === undefined || !surface.security.enabled)
      throw new IotFogError(
        "UNSUPPORTED",
        "this driver runs with security.mode insecure: nothing to enroll in",
      );
    const body = parseWith(enrollmentRequestSchema, req.body ?? {}, "body", "BAD_REQUEST");
    const answer = await surface.security.identity.enroll(body);
    res.status(201).json(answer);
  });
}

/** Fleet security operations, behind the API token like every other route. */
export function registerSecurityRoutes(api: Router, surface: SecuritySurface | undefined): void {
  const require = (): SecuritySurface => {
    if (surface === undefined || !surface.security.enabled)
      throw new IotFogError("UNSUPPORTED", "this driver runs with security.mode insecure");
    return surface;
  };
  api.get("/fleet", (_req, res) => {
    if (surface === undefined || !surface.security.enabled) {
      res.json({ mode: "insecure" });
      return;
    }
    const identity = surface.security.identity;
    const key = identity.fleetKey.publicKey;
    res.json({
      mode: "curve",
      fleetKey: key,
      fingerprint: keyFingerprint(key),
      pin: keyPin(key),
      rotation: identity.previousFleetKey === undefined ? null : { pending: surface.trust.pendingRotation() },
      nodes: Object.entries(identity.nodes()).map(([nodeId, n]) => ({
        nodeId,
        fingerprint: keyFingerprint(n.publicKey),
        enrolledAt: n.enrolledAt,
        ...(n.revokedAt === undefined ? {} : { revokedAt: n.revokedAt }),
      })),
    });
  });
  api.post("/fleet/tokens", async (req, res) => {
    const body = parseWith(tokenBodySchema, req.body ?? {}, "body", "BAD_REQUEST");
    const created = await require().security.identity.createToken({
      ttlMs: body.ttlSeconds * 1000,
      uses: body.uses,
    });
    res.status(201).json(created);
  });
  api.get("/fleet/tokens", (_req, res) => {
    res.json({ tokens: require().security.identity.listTokens() });
  });
  api.post("/fleet/rotate", async (_req, res) => {
    res.json(await require().trust.rotate());
  });
  api.post("/nodes/:nodeId/revoke", async (req, res) => {
    res.json(await require().trust.revoke(String(req.params.nodeId)));
  });
}
