/**
 * Certificates for TLS tests, made with Debian's openssl (installed by scripts/setup.sh) exactly as
 * docs/security.md ("Transport security") tells operators to: a CA, and server certificates it signs.
 */
import { execFile } from "node:child_process";
import { chmod, writeFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

async function openssl(args: string[]): Promise<void> {
  try {
    await run("openssl", args, { timeout: 60000 });
  } catch (e) {
    throw new Error(
      `openssl ${args[0] ?? ""} failed (run scripts/setup.sh to install Debian's openssl): ${String(e)}`,
    );
  }
}

export interface TestCa {
  cert: string;
  key: string;
}

/** A CA (P-256 key, mode 600) in `dir`, files `<name>.crt` / `<name>.key`. */
export async function makeCa(dir: string, name: string): Promise<TestCa> {
  const ca = { cert: path.join(dir, `${name}.crt`), key: path.join(dir, `${name}.key`) };
  await openssl([
    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
    "-keyout", ca.key, "-out", ca.cert, "-days", "30", "-subj", `/CN=${name}`,
  ]); // prettier-ignore
  await chmod(ca.key, 0o600);
  return ca;
}

/** A server certificate for `altNames` (e.g. `IP:127.0.0.1`) signed by `ca`; the key file has mode 600. */
export async function makeServerCert(
  dir: string,
  ca: TestCa,
  name: string,
  altNames: string[],
): Promise<{ cert: string; key: string }> {
  const out = { cert: path.join(dir, `${name}.crt`), key: path.join(dir, `${name}.key`) };
  const csr = path.join(dir, `${name}.csr`);
  const ext = path.join(dir, `${name}.ext`);
  await writeFile(ext, `subjectAltName=${altNames.join(",")}\nextendedKeyUsage=serverAuth\n`);
  await openssl([
    "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
    "-keyout", out.key, "-out", csr, "-subj", `/CN=${name}`,
  ]); // prettier-ignore
  await openssl([
    "x509", "-req", "-in", csr, "-CA", ca.cert, "-CAkey", ca.key, "-CAcreateserial",
    "-out", out.cert, "-days", "30", "-extfile", ext,
  ]); // prettier-ignore
  await chmod(out.key, 0o600);
  return out;
}
