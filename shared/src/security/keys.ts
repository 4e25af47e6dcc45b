import { createHash, createPrivateKey, createPublicKey, diffieHellman } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { curveKeyPair } from "zeromq";
import { z } from "zod";
import { IotFogError, errorMessage } from "../errors";
import { writeFileAtomic } from "../files";
import { parseWith } from "../validation";
import { z85Decode } from "./z85";

/** A CurveZMQ public or secret key: 32 bytes written as 40 Z85 characters. */
export const curveKeySchema = z
  .string()
  .regex(/^[0-9a-zA-Z.\-:+=^!/*?&<>()[\]{}@%$#]{40}$/, "must be a 40-character Z85 CurveZMQ key");

export const curveKeyPairSchema = z.object({ publicKey: curveKeySchema, secretKey: curveKeySchema }).strict();
export type CurveKeyPair = z.infer<typeof curveKeyPairSchema>;

/** A fresh key pair (libzmq with libsodium, from the operating system's random source). */
export function generateKeyPair(): CurveKeyPair {
  return curveKeyPair();
}

/**
 * The pin of a public key, as a join token carries it: sha256 of the key's 32 bytes, hex. A node that joins
 * checks the key the driver answers with against it, so a fake driver on the LAN cannot hand out its own key.
 */
export function keyPin(publicKey: string): string {
  return createHash("sha256").update(z85Decode(publicKey)).digest("hex");
}

/** A short, printable fingerprint of a key for logs and listings (the pin's first 16 hex digits). */
export function keyFingerprint(publicKey: string): string {
  return keyPin(publicKey).slice(0, 16);
}

const b64url = (bytes: Buffer): string => bytes.toString("base64url");

/**
 * The X25519 shared secret of one side's key pair and the other side's public key (CurveZMQ keys are X25519
 * keys). Both sides compute the same bytes; used to authenticate documents the driver sends (trust.update).
 */
export function sharedSecret(own: CurveKeyPair, otherPublicKey: string): Buffer {
  const privateKey = createPrivateKey({
    key: {
      kty: "OKP",
      crv: "X25519",
      d: b64url(z85Decode(own.secretKey)),
      x: b64url(z85Decode(own.publicKey)),
    },
    format: "jwk",
  });
  const publicKey = createPublicKey({
    key: { kty: "OKP", crv: "X25519", x: b64url(z85Decode(otherPublicKey)) },
    format: "jwk",
  });
  return diffieHellman({ privateKey, publicKey });
}

/**
 * Reads a JSON file that holds secrets, checked by `schema`. A file that its group or others may read is
 * refused: a key that may have leaked is no key.
 */
export function readSecretJson<T>(file: string, schema: z.ZodType<T, z.ZodTypeDef, unknown>): T | undefined {
  let text: string;
  try {
    const st = statSync(file);
    if ((st.mode & 0o077) !== 0) {
      throw new IotFogError(
        "CONFIG_INVALID",
        `${file} can be read by its group or others (mode ${(st.mode & 0o777).toString(8)}); chmod 600 it`,
      );
    }
    text = readFileSync(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new IotFogError("CONFIG_INVALID", `${file}: not JSON (${errorMessage(e)})`);
  }
  return parseWith(schema, doc, file, "CONFIG_INVALID");
}

/** Writes a JSON document atomically with mode 600 (writeFileAtomic creates it so). */
export async function writeSecretJson(file: string, doc: unknown): Promise<void> {
  await writeFileAtomic(file, `${JSON.stringify(doc, null, 2)}\n`);
}
