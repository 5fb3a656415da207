import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from "node:crypto";
import { Buffer } from "node:buffer";
import { ValidationError } from "../errors.js";
import {
  bitString,
  booleanTrue,
  explicit,
  implicitPrimitive,
  namedBits,
  objectIdentifier,
  octetString,
  pem,
  sequence,
  set,
  smallInteger,
  time,
  unsignedInteger,
  utf8String,
} from "./der.js";
import { parseIp } from "./ip.js";

/**
 * A throwaway certificate authority for the egress proxy: the sandbox trusts its certificate, and the proxy presents
 * leaves it issues for the hosts the sandbox connects to. Certificates are written with our own DER encoder (see
 * der.ts) and are shaped to pass strict verifiers (OpenSSL's -x509_strict, Python 3.13's VERIFY_X509_STRICT).
 */

export interface IssuedCertificate {
  readonly certPem: string;
  readonly keyPem: string;
}

export interface CertificateAuthority {
  /** The CA certificate (what the sandbox trusts). */
  readonly certPem: string;
  /** A server certificate for these DNS names (wildcards like "*.example.com" allowed), cached per name set. */
  issue(hostnames: readonly string[]): IssuedCertificate;
}

export interface CertificateAuthorityOptions {
  /** The CA's subject common name; default "llm-sandbox egress CA <random>". */
  commonName?: string;
  /** How long the CA and each leaf are valid, from now (leaves never outlive the CA); default 7. */
  validDays?: number;
}

const OID = {
  ecPublicKey: "1.2.840.10045.2.1",
  ecdsaWithSha256: "1.2.840.10045.4.3.2",
  commonName: "2.5.4.3",
  subjectKeyIdentifier: "2.5.29.14",
  keyUsage: "2.5.29.15",
  subjectAltName: "2.5.29.17",
  basicConstraints: "2.5.29.19",
  authorityKeyIdentifier: "2.5.29.35",
  extKeyUsage: "2.5.29.37",
  serverAuth: "1.3.6.1.5.5.7.3.1",
} as const;

const KEY_USAGE = { digitalSignature: 0, keyCertSign: 5, cRLSign: 6 } as const;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** RFC 5280's upper bound for a common name; a longer first name is left out of the subject (the SAN carries it). */
const MAX_COMMON_NAME = 64;
/** Leaves kept per CA; the proxy's policy bounds the names in practice, this bounds a misbehaving caller. */
const MAX_CACHED = 1024;

interface KeyPair {
  readonly privateKey: KeyObject;
  /** SubjectPublicKeyInfo DER, ready to embed. */
  readonly spki: Uint8Array;
  /** SHA-1 of the public key's bits (RFC 5280 4.2.1.2, method 1). */
  readonly keyId: Uint8Array;
}

function newKeyPair(): KeyPair {
  const { publicKey, privateKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  const spki = publicKey.export({ type: "spki", format: "der" });
  const jwk = publicKey.export({ format: "jwk" });
  const point = Buffer.concat([Uint8Array.of(4), Buffer.from(jwk.x!, "base64url"), Buffer.from(jwk.y!, "base64url")]);
  return { privateKey, spki, keyId: createHash("sha1").update(point).digest() };
}

/** A positive 16-byte serial whose first byte is never zero (so its DER form is exactly those 16 bytes). */
function serialNumber(): Uint8Array {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) | 0x40;
  return unsignedInteger(bytes);
}

const nameWithCommonName = (commonName: string | undefined) =>
  commonName === undefined ? sequence() : sequence(set(sequence(objectIdentifier(OID.commonName), utf8String(commonName))));

function extension(oid: string, critical: boolean, value: Uint8Array): Uint8Array {
  return critical ? sequence(objectIdentifier(oid), booleanTrue(), octetString(value)) : sequence(objectIdentifier(oid), octetString(value));
}

const authorityKeyIdentifier = (keyId: Uint8Array) => extension(OID.authorityKeyIdentifier, false, sequence(implicitPrimitive(0, keyId)));

interface CertificateFields {
  readonly issuer: Uint8Array;
  readonly subject: Uint8Array;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly subjectKey: KeyPair;
  readonly signingKey: KeyObject;
  readonly extensions: readonly Uint8Array[];
}

/** An X.509 v3 certificate, signed with ECDSA over SHA-256, as PEM. */
function certificate(fields: CertificateFields): string {
  const algorithm = sequence(objectIdentifier(OID.ecdsaWithSha256)); // no parameters for ECDSA (RFC 5758 3.2)
  const tbs = sequence(
    explicit(0, smallInteger(2)), // v3
    serialNumber(),
    algorithm,
    fields.issuer,
    sequence(time(fields.notBefore), time(fields.notAfter)),
    fields.subject,
    fields.subjectKey.spki,
    explicit(3, sequence(...fields.extensions)),
  );
  const signature = sign("sha256", tbs, fields.signingKey); // DER ECDSA-Sig-Value, what X.509 embeds
  return pem("CERTIFICATE", sequence(tbs, algorithm, bitString(signature)));
}

type SubjectName = { kind: "dns"; name: string } | { kind: "ip"; name: string; bytes: Uint8Array };

const LABEL = /^(?!-)[a-z0-9_-]{1,63}(?<!-)$/;

/** A hostname lowercased without a trailing dot, or an IP literal; anything else is a ValidationError. */
function subjectName(hostname: unknown): SubjectName {
  if (typeof hostname !== "string") throw new ValidationError(`Certificate names must be strings, got ${typeof hostname}`);
  const bytes = parseIp(hostname);
  if (bytes) return { kind: "ip", name: hostname.toLowerCase(), bytes };
  const name = hostname.toLowerCase().replace(/\.$/, "");
  const labels = name.split(".");
  const checked = labels[0] === "*" ? labels.slice(1) : labels;
  if (name.length > 253 || checked.length === 0 || !checked.every((label) => LABEL.test(label))) {
    throw new ValidationError(`Not a DNS name or IP address for a certificate: ${JSON.stringify(hostname)}`);
  }
  return { kind: "dns", name };
}

export function createCertificateAuthority(options: CertificateAuthorityOptions = {}): CertificateAuthority {
  const validDays = options.validDays ?? 7;
  if (typeof validDays !== "number" || !Number.isFinite(validDays) || validDays <= 0 || validDays > 3650) {
    throw new ValidationError(`validDays must be a number of days in (0, 3650], got ${String(validDays)}`);
  }
  const commonName = options.commonName ?? `llm-sandbox egress CA ${randomBytes(4).toString("hex")}`;
  if (typeof commonName !== "string" || commonName.length === 0 || commonName.length > MAX_COMMON_NAME) {
    throw new ValidationError(`The CA's common name must be 1 to ${MAX_COMMON_NAME} characters`);
  }

  // The CA's private key lives only in this closure: nothing returned exposes it.
  const caKey = newKeyPair();
  const caName = nameWithCommonName(commonName);
  const now = Date.now();
  const caNotAfter = new Date(now + validDays * DAY);
  const certPem = certificate({
    issuer: caName,
    subject: caName,
    notBefore: new Date(now - HOUR), // an hour back: a sandbox clock a little behind still accepts it
    notAfter: caNotAfter,
    subjectKey: caKey,
    signingKey: caKey.privateKey,
    extensions: [
      extension(OID.basicConstraints, true, sequence(booleanTrue())),
      extension(OID.keyUsage, true, namedBits([KEY_USAGE.keyCertSign, KEY_USAGE.cRLSign])),
      extension(OID.subjectKeyIdentifier, false, octetString(caKey.keyId)),
      authorityKeyIdentifier(caKey.keyId),
    ],
  });

  // One key for every leaf: generating a P-256 key per host would cost more than the rest of the issuing.
  let leafKey: KeyPair | undefined;
  let leafKeyPem: string | undefined;
  const cache = new Map<string, IssuedCertificate>();

  const issue = (hostnames: readonly string[]): IssuedCertificate => {
    if (!Array.isArray(hostnames) || hostnames.length === 0) throw new ValidationError("A certificate needs at least one name");
    const names: SubjectName[] = [];
    for (const hostname of hostnames) {
      const name = subjectName(hostname);
      if (!names.some((seen) => seen.name === name.name)) names.push(name);
    }
    const key = names.map(({ name }) => name).sort().join(",");
    const cached = cache.get(key);
    if (cached) return cached;

    leafKey ??= newKeyPair();
    leafKeyPem ??= leafKey.privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    const first = names[0]!.name;
    const hasCommonName = first.length <= MAX_COMMON_NAME;
    // GeneralName choices, IMPLICIT: dNSName [2] IA5String, iPAddress [7] OCTET STRING.
    const altNames = sequence(...names.map((name) => (name.kind === "ip" ? implicitPrimitive(7, name.bytes) : implicitPrimitive(2, Buffer.from(name.name, "ascii")))));
    const issuedAt = Date.now();
    const issued: IssuedCertificate = {
      certPem: certificate({
        issuer: caName,
        subject: nameWithCommonName(hasCommonName ? first : undefined),
        notBefore: new Date(issuedAt - HOUR),
        notAfter: new Date(Math.min(issuedAt + validDays * DAY, caNotAfter.getTime())),
        subjectKey: leafKey,
        signingKey: caKey.privateKey,
        extensions: [
          extension(OID.basicConstraints, false, sequence()), // cA FALSE, written by omission
          extension(OID.keyUsage, true, namedBits([KEY_USAGE.digitalSignature])),
          extension(OID.extKeyUsage, false, sequence(objectIdentifier(OID.serverAuth))),
          // With an empty subject the SAN is the only identity, and RFC 5280 4.2.1.6 then makes it critical.
          extension(OID.subjectAltName, !hasCommonName, altNames),
          extension(OID.subjectKeyIdentifier, false, octetString(leafKey.keyId)),
          authorityKeyIdentifier(caKey.keyId),
        ],
      }),
      keyPem: leafKeyPem,
    };
    if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value!);
    cache.set(key, issued);
    return issued;
  };

  return Object.freeze({ certPem, issue });
}
