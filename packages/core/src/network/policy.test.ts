import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { EgressRules, egressPolicySchema, isPublicAddress } from "./policy.js";

const rules = (policy: unknown) => new EgressRules(egressPolicySchema.parse(policy));

describe("egress policy", () => {
  it("allows listed names on the web ports, and other ports only when an entry names them", () => {
    const policy = rules({ allow: ["api.github.com", "db.internal:5432"], hosts: { "db.internal": "10.1.2.3" } });
    expect(policy.decide("api.github.com", 443)).toEqual({ allowed: true, address: undefined });
    expect(policy.decide("API.GitHub.com.", 80).allowed).toBe(true);
    expect(policy.decide("api.github.com", 22)).toMatchObject({ allowed: false, reason: expect.stringContaining('allow "api.github.com:22"') });
    expect(policy.decide("db.internal", 5432)).toEqual({ allowed: true, address: "10.1.2.3" });
    expect(policy.decide("db.internal", 443).allowed).toBe(false);
    expect(policy.decide("github.com", 443)).toMatchObject({ allowed: false, reason: "not in the allow-list" });
    expect(policy.extraPorts).toEqual([5432]);
  });

  it("matches a wildcard's subdomains, not the bare domain; deny wins over allow", () => {
    const policy = rules({ allow: ["*.githubusercontent.com", "*.github.com"], deny: ["uploads.github.com"] });
    expect(policy.decide("raw.githubusercontent.com", 443).allowed).toBe(true);
    expect(policy.decide("a.b.githubusercontent.com", 443).allowed).toBe(true);
    expect(policy.decide("githubusercontent.com", 443).allowed).toBe(false);
    expect(policy.decide("evilgithubusercontent.com", 443).allowed).toBe(false);
    expect(policy.decide("uploads.github.com", 443)).toMatchObject({ allowed: false, reason: 'denied by "uploads.github.com"' });
    expect(policy.resolvable("uploads.github.com")).toBe(false);
    expect(policy.resolvable("api.github.com")).toBe(true);
  });

  it("never allows raw IPs, and refuses them as entries with a hint", () => {
    expect(rules({ allow: ["example.com"] }).decide("93.184.216.34", 80)).toMatchObject({ allowed: false, reason: expect.stringContaining("raw IP") });
    const parsed = egressPolicySchema.safeParse({ allow: ["10.0.0.1", "*.", "bad host"] });
    expect(parsed.success).toBe(false);
    expect(JSON.stringify(parsed.error?.issues)).toContain("name the address in `hosts`");
  });

  it("finds the secrets of a host by the secret's own host patterns", () => {
    const policy = rules({ allow: ["*.github.com"], secrets: { GH: { value: "v", hosts: ["api.github.com"] }, ALL: { value: "w", hosts: ["*.github.com"], body: true } } });
    expect(policy.secretsFor("api.github.com")).toEqual([["GH", "v", false], ["ALL", "w", true]]);
    expect(policy.secretsFor("uploads.github.com")).toEqual([["ALL", "w", true]]);
  });

  it("reads caCerts given as files, and names one that is neither PEM nor a readable file", () => {
    const dir = mkdtempSync(join(tmpdir(), "policy-ca-"));
    const pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
    writeFileSync(join(dir, "ca.pem"), pem);
    try {
      expect(egressPolicySchema.parse({ caCerts: [join(dir, "ca.pem"), pem] }).caCerts).toEqual([pem, pem]);
      const parsed = egressPolicySchema.safeParse({ caCerts: [join(dir, "missing.pem")] });
      expect(JSON.stringify(parsed.error?.issues)).toContain("neither PEM text nor a readable PEM file");
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  it("does not echo a secret's value in a validation error", () => {
    const parsed = egressPolicySchema.safeParse({ secrets: { TOKEN: { value: "s3cr3t-value", hosts: [] } } });
    expect(parsed.success).toBe(false);
    expect(JSON.stringify(parsed.error)).not.toContain("s3cr3t-value");
  });

  it("tells public addresses from the host's, its neighbours' and the metadata service's", () => {
    for (const address of ["10.1.2.3", "172.17.0.1", "192.168.1.1", "127.0.0.1", "169.254.169.254", "100.64.0.1", "0.0.0.0", "224.0.0.1", "::1", "fe80::1", "fd00::1", "fc00::1", "::ffff:10.0.0.1", "::"]) {
      expect(isPublicAddress(address), address).toBe(false);
    }
    for (const address of ["93.184.216.34", "8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8"]) expect(isPublicAddress(address), address).toBe(true);
  });
});
