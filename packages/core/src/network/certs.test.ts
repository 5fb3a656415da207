import { execFileSync } from "node:child_process";
import { X509Certificate, createPrivateKey } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import tls from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ValidationError } from "../errors.js";
import { createCertificateAuthority, type IssuedCertificate } from "./certs.js";

const ca = createCertificateAuthority({ commonName: "test egress CA" });
const caCert = new X509Certificate(ca.certPem);
const leaf = ca.issue(["api.example.com", "*.example.org", "127.0.0.1", "::1"]);
const leafCert = new X509Certificate(leaf.certPem);

describe("createCertificateAuthority", () => {
  it("makes a self-signed CA certificate that node parses: CA flag, subject, EC P-256 key", () => {
    expect(caCert.ca).toBe(true);
    expect(caCert.subject).toBe("CN=test egress CA");
    expect(caCert.issuer).toBe(caCert.subject);
    expect(caCert.checkIssued(caCert)).toBe(true);
    expect(caCert.verify(caCert.publicKey)).toBe(true);
    expect(caCert.publicKey.asymmetricKeyDetails?.namedCurve).toBe("prime256v1");
    expect(caCert.serialNumber).toMatch(/^[0-9A-F]{32}$/); // 16 bytes, no padding byte: positive
    expect(caCert.keyUsage).toBeUndefined(); // node lists extended key usage only; the CA has none
  });

  it("defaults: a random common name, valid from an hour back for 7 days", () => {
    const other = new X509Certificate(createCertificateAuthority().certPem);
    expect(other.subject).toMatch(/^CN=llm-sandbox egress CA [0-9a-f]{8}$/);
    const from = Date.parse(other.validFrom);
    const to = Date.parse(other.validTo);
    expect(Math.abs(from - (Date.now() - 3_600_000))).toBeLessThan(60_000);
    expect(Math.abs(to - from - (7 * 24 + 1) * 3_600_000)).toBeLessThan(2_000);
  });

  it("issues a leaf signed by the CA: names in the SAN, server auth, not a CA", () => {
    expect(leafCert.checkIssued(caCert)).toBe(true);
    expect(leafCert.verify(caCert.publicKey)).toBe(true);
    expect(leafCert.ca).toBe(false);
    expect(leafCert.subject).toBe("CN=api.example.com");
    expect(leafCert.issuer).toBe("CN=test egress CA");
    expect(leafCert.subjectAltName).toBe("DNS:api.example.com, DNS:*.example.org, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1");
    expect(leafCert.keyUsage).toEqual(["1.3.6.1.5.5.7.3.1"]);
    expect(leafCert.checkHost("api.example.com")).toBe("api.example.com");
    expect(leafCert.checkHost("a.example.org")).toBe("*.example.org");
    expect(leafCert.checkHost("example.org")).toBeUndefined();
    expect(leafCert.checkHost("other.example.com")).toBeUndefined();
    expect(leafCert.checkIP("127.0.0.1")).toBe("127.0.0.1");
    expect(leafCert.checkIP("::1")).toBeDefined();
    expect(Date.parse(leafCert.validTo)).toBeLessThanOrEqual(Date.parse(caCert.validTo));
  });

  it("pairs each leaf with its private key, one key for all leaves", () => {
    expect(leafCert.checkPrivateKey(createPrivateKey(leaf.keyPem))).toBe(true);
    const other = ca.issue(["b.example.net"]);
    expect(other.keyPem).toBe(leaf.keyPem);
    expect(new X509Certificate(other.certPem).serialNumber).not.toBe(leafCert.serialNumber);
  });

  it("never exposes the CA's private key", () => {
    expect(Object.keys(ca).sort()).toEqual(["certPem", "issue"]);
    expect(JSON.stringify(ca)).not.toMatch(/PRIVATE KEY/);
    expect(Object.isFrozen(ca)).toBe(true);
  });

  it("caches per name set: same names in any order, case or trailing dot give the same object", () => {
    const first = ca.issue(["x.example.com", "y.example.com"]);
    expect(ca.issue(["x.example.com", "y.example.com"])).toBe(first);
    expect(ca.issue(["Y.example.com.", "x.example.com", "x.example.com"])).toBe(first);
    expect(ca.issue(["x.example.com"])).not.toBe(first);
  });

  it("never makes a leaf outlive the CA", () => {
    const short = createCertificateAuthority({ validDays: 0.5 });
    const shortLeaf = new X509Certificate(short.issue(["a.example.com"]).certPem);
    expect(Date.parse(shortLeaf.validTo)).toBeLessThanOrEqual(Date.parse(new X509Certificate(short.certPem).validTo));
  });

  it("leaves a common name longer than 64 characters out of the subject, with a critical SAN", () => {
    const name = `${"a".repeat(60)}.example.com`;
    const cert = new X509Certificate(ca.issue([name]).certPem);
    expect(cert.subject ?? "").toBe(""); // node gives undefined for an empty subject
    expect(cert.checkHost(name)).toBe(name);
  });

  it("refuses names that are neither DNS names nor IP literals, and bad options", () => {
    for (const bad of [[], [""], ["a b.com"], ["-a.com"], ["a..com"], ["*"], ["a.*.com"], ["[::1]"], ["x".repeat(64) + ".com"], [42]]) {
      expect(() => ca.issue(bad as string[]), JSON.stringify(bad)).toThrow(ValidationError);
    }
    expect(() => createCertificateAuthority({ validDays: 0 })).toThrow(ValidationError);
    expect(() => createCertificateAuthority({ validDays: Number.NaN })).toThrow(ValidationError);
    expect(() => createCertificateAuthority({ commonName: "" })).toThrow(ValidationError);
  });
});

describe("a TLS handshake with an issued certificate", () => {
  let server: tls.Server;
  let port: number;
  const served = new Map<string, IssuedCertificate>([
    ["api.example.com", ca.issue(["api.example.com"])],
    ["a.wild.example.com", ca.issue(["*.wild.example.com"])],
  ]);

  beforeAll(async () => {
    // Like the proxy: the certificate follows the client's SNI (the default is the api.example.com one).
    const contexts = new Map([...served].map(([host, pair]) => [host, tls.createSecureContext({ cert: pair.certPem, key: pair.keyPem })]));
    const fallback = served.get("api.example.com")!;
    server = tls.createServer({ cert: fallback.certPem, key: fallback.keyPem, SNICallback: (host, done) => done(null, contexts.get(host)) }, (socket) => socket.end("ok"));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  /** Connects trusting only our CA; resolves with the data read, or the verification error's code. */
  const connect = (servername: string) =>
    new Promise<string>((resolve) => {
      const socket = tls.connect({ host: "127.0.0.1", port, servername, ca: [ca.certPem] }, () => {
        expect(socket.authorized).toBe(true);
        socket.once("data", (data) => {
          socket.destroy();
          resolve(data.toString());
        });
      });
      socket.once("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    });

  it("is authorized for a name in the SAN, and for a name under a wildcard", async () => {
    expect(await connect("api.example.com")).toBe("ok");
    expect(await connect("a.wild.example.com")).toBe("ok");
  });

  it("is rejected for a name that is not in the SAN", async () => {
    expect(await connect("evil.example.com")).toBe("ERR_TLS_CERT_ALTNAME_INVALID");
  });
});

describe("openssl verify -x509_strict", () => {
  const openssl = "/usr/bin/openssl";
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "llm-sandbox-certs-"));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  // An extra check, where the binary exists: OpenSSL's strict mode wants AKID on leaves, SKID and key usage on CAs, ...
  it.skipIf(!existsSync(openssl))("accepts the CA and its leaves", async () => {
    const files = { "ca.pem": ca.certPem, "leaf.pem": leaf.certPem, "long.pem": ca.issue([`${"b".repeat(60)}.example.com`]).certPem };
    for (const [name, text] of Object.entries(files)) await writeFile(path.join(dir, name), text);
    const out = execFileSync(openssl, ["verify", "-x509_strict", "-purpose", "sslserver", "-CAfile", "ca.pem", "leaf.pem", "long.pem"], { cwd: dir, encoding: "utf8" });
    expect(out).toBe("leaf.pem: OK\nlong.pem: OK\n");
    expect(execFileSync(openssl, ["verify", "-x509_strict", "-CAfile", "ca.pem", "ca.pem"], { cwd: dir, encoding: "utf8" })).toBe("ca.pem: OK\n");
  });
});
