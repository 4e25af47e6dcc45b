import { execFile } from "node:child_process";
import { pbkdf2Sync, randomBytes, timingSafeEqual } from "node:crypto";
import { chmod, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { existsSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import {
  IotFogError,
  errorMessage,
  mqttFleetCredentialsSchema,
  readSecretJson,
  writeSecretJson,
  type MqttFleetCredentials,
} from "@openiotfog/shared";

const run = promisify(execFile);

export const MQTT_CA_KEY_FILE = "mqtt-ca.key";
export const MQTT_CA_CERT_FILE = "mqtt-ca.crt";
export const MQTT_DRIVER_FILE = "mqtt-driver.json";
/**
 * The driver's MQTT user name. The `@` makes it something no node id can be (node ids are letters, digits,
 * `.`, `_`, `-`), so no node can enroll under the driver's name and inherit its ACL.
 */
export const DRIVER_MQTT_USER = "iotfog-driver@fleet";

async function openssl(args: string[]): Promise<void> {
  try {
    await run("openssl", args, { timeout: 60000 });
  } catch (e) {
    throw new IotFogError(
      "UNAVAILABLE",
      `openssl ${args[0] ?? ""} failed (the fleet's MQTT CA is made with openssl; scripts/setup.sh installs it): ${errorMessage(e)}`,
    );
  }
}

/** A fresh MQTT password: 192 random bits, printable. */
export function newMqttPassword(): string {
  return randomBytes(24).toString("base64url");
}

/**
 * A password hash in Mosquitto's password-file format (`$7$<iterations>$<salt>$<hash>`, PBKDF2-SHA512, what
 * `mosquitto_passwd` writes), so the driver writes the broker's password file itself and the embedded broker
 * checks the same hashes. Passwords are 192 random bits, so Mosquitto's default 101 iterations lose nothing.
 */
export function mosquittoPasswordHash(password: string, iterations = 101): string {
  const salt = randomBytes(12);
  const hash = pbkdf2Sync(password, salt, iterations, 64, "sha512");
  return `$7$${iterations}$${salt.toString("base64")}$${hash.toString("base64")}`;
}

/** Checks a password against a `$7$` hash in constant time. */
export function verifyMosquittoPassword(password: string, stored: string): boolean {
  const m = /^\$7\$(\d{1,7})\$([A-Za-z0-9+/=]{1,64})\$([A-Za-z0-9+/=]{1,128})$/.exec(stored);
  if (m === null || m[1] === undefined || m[2] === undefined || m[3] === undefined) return false;
  const expected = Buffer.from(m[3], "base64");
  const given = pbkdf2Sync(password, Buffer.from(m[2], "base64"), Number(m[1]), expected.length, "sha512");
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * The fleet's certificate authority for MQTT over TLS (P-256, ten years, made with openssl) and the driver's
 * own MQTT credentials, in the fleet directory: created once, mode 600.
 */
export async function ensureMqttAuthority(dir: string): Promise<void> {
  const key = path.join(dir, MQTT_CA_KEY_FILE);
  const cert = path.join(dir, MQTT_CA_CERT_FILE);
  if (!existsSync(key) || !existsSync(cert)) {
    await openssl([
      "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
      "-keyout", key, "-out", cert, "-days", "3650", "-subj", "/O=OpenIoTFog/CN=OpenIoTFog fleet MQTT CA",
      "-addext", "basicConstraints=critical,CA:TRUE,pathlen:0",
      "-addext", "keyUsage=critical,keyCertSign,cRLSign",
    ]); // prettier-ignore
    await chmod(key, 0o600);
    await chmod(cert, 0o600);
  }
  const driverFile = path.join(dir, MQTT_DRIVER_FILE);
  if (readSecretJson(driverFile, mqttFleetCredentialsSchema) === undefined) {
    await writeSecretJson(driverFile, { username: DRIVER_MQTT_USER, password: newMqttPassword() });
  }
}

/** The fleet CA certificate (PEM), or undefined before ensureMqttAuthority. */
export function readMqttCaCert(dir: string): string | undefined {
  const file = path.join(dir, MQTT_CA_CERT_FILE);
  return existsSync(file) ? readFileSync(file, "utf8") : undefined;
}

/** The driver's MQTT credentials with the fleet CA. */
export function readDriverMqttCredentials(dir: string): MqttFleetCredentials | undefined {
  const creds = readSecretJson(path.join(dir, MQTT_DRIVER_FILE), mqttFleetCredentialsSchema);
  if (creds === undefined) return undefined;
  const caCert = readMqttCaCert(dir);
  return caCert === undefined ? creds : { ...creds, caCert };
}

/**
 * A server certificate for the broker signed by the fleet CA, naming `altNames` (`DNS:broker.lan`,
 * `IP:10.0.0.5`): `<outDir>/server.crt` and `server.key` (mode 600).
 */
export async function issueBrokerCertificate(
  fleetDir: string,
  outDir: string,
  altNames: string[],
): Promise<{ cert: string; key: string }> {
  const out = { cert: path.join(outDir, "server.crt"), key: path.join(outDir, "server.key") };
  await mkdir(outDir, { recursive: true, mode: 0o700 });
  const work = await mkdtemp(path.join(os.tmpdir(), "iotfog-mqtt-cert-"));
  try {
    const csr = path.join(work, "server.csr");
    const ext = path.join(work, "server.ext");
    await writeFile(
      ext,
      `subjectAltName=${altNames.join(",")}\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n`,
    );
    await openssl([
      "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
      "-keyout", out.key, "-out", csr, "-subj", "/O=OpenIoTFog/CN=OpenIoTFog MQTT broker",
    ]); // prettier-ignore
    await chmod(out.key, 0o600);
    await openssl([
      "x509", "-req", "-in", csr, "-CA", path.join(fleetDir, MQTT_CA_CERT_FILE),
      "-CAkey", path.join(fleetDir, MQTT_CA_KEY_FILE), "-set_serial", `0x${randomBytes(16).toString("hex")}`,
      "-out", out.cert, "-days", "825", "-extfile", ext,
    ]); // prettier-ignore
    await chmod(out.cert, 0o600);
    return out;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
