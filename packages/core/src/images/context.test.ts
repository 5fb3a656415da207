import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import tar from "tar-stream";
import { afterAll, describe, expect, it } from "vitest";
import { ValidationError } from "../errors.js";
import {
  collectDirectory,
  contextHash,
  extraCaBundle,
  packContext,
  parseDockerignore,
  parsePemCertificates,
  type ContextFile,
} from "./context.js";

const file = (name: string, text: string, mode = 0o644): ContextFile => ({ name, data: Buffer.from(text), mode });
const pem = (body: string) => `-----BEGIN CERTIFICATE-----\n${body}\n-----END CERTIFICATE-----`;

describe("contextHash", () => {
  const files = [file("Dockerfile", "FROM x\n"), file("common/setup-base.sh", "echo hi\n")];
  const hash = contextHash(files, { BASE: "debian:bookworm-slim" });

  it("is a sha256 that does not depend on file order or modes", () => {
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(contextHash([...files].reverse(), { BASE: "debian:bookworm-slim" })).toBe(hash);
    expect(contextHash([file("Dockerfile", "FROM x\n", 0o755), files[1]!], { BASE: "debian:bookworm-slim" })).toBe(hash);
  });

  it("changes with any byte, file name, added file or the base", () => {
    const variants = [
      contextHash([file("Dockerfile", "FROM y\n"), files[1]!], { BASE: "debian:bookworm-slim" }),
      contextHash([file("Dockerfile", "FROM x\n"), file("common/setup-base2.sh", "echo hi\n")], { BASE: "debian:bookworm-slim" }),
      contextHash([...files, file("extra-ca.crt", "")], { BASE: "debian:bookworm-slim" }),
      contextHash(files, { BASE: "llm-sandbox/debian:bookworm" }),
      contextHash(files),
    ];
    expect(new Set([hash, ...variants]).size).toBe(variants.length + 1);
  });

  it("cannot be fooled by moving bytes between a name and its contents", () => {
    expect(contextHash([file("a", "bc")])).not.toBe(contextHash([file("ab", "c")]));
  });
});

describe("packContext", () => {
  it("makes a tar with parent directories, files, modes and links", async () => {
    const archive = await packContext([
      file("Dockerfile", "FROM scratch\n"),
      file("common/run.sh", "#!/bin/sh\n", 0o755),
      { name: "common/link", data: Buffer.alloc(0), mode: 0o777, linkTarget: "run.sh" },
    ]);
    const entries: Array<{ name: string; type?: string | null; mode?: number; body: string; linkname?: string | null }> = [];
    const extract = tar.extract();
    extract.on("entry", (header, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on("data", (c: unknown) => chunks.push(c as Buffer));
      stream.on("end", () => {
        entries.push({ name: header.name, type: header.type, mode: header.mode, body: Buffer.concat(chunks).toString(), linkname: header.linkname });
        next();
      });
    });
    await new Promise<void>((resolve, reject) => {
      extract.on("finish", resolve);
      extract.on("error", reject);
      extract.end(archive);
    });
    expect(entries).toEqual([
      { name: "Dockerfile", type: "file", mode: 0o644, body: "FROM scratch\n", linkname: null },
      { name: "common/", type: "directory", mode: 0o755, body: "", linkname: null },
      { name: "common/run.sh", type: "file", mode: 0o755, body: "#!/bin/sh\n", linkname: null },
      { name: "common/link", type: "symlink", mode: 0o777, body: "", linkname: "run.sh" },
    ]);
  });
});

describe("collectDirectory", () => {
  const dir = mkdtempSync(join(tmpdir(), "llm-sandbox-context-test-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("lists files recursively in name order with a prefix, keeps links as links, and applies the filter", () => {
    mkdirSync(join(dir, "sub/deep"), { recursive: true });
    writeFileSync(join(dir, "b.txt"), "b");
    writeFileSync(join(dir, "a.sh"), "a", { mode: 0o755 });
    writeFileSync(join(dir, "sub/deep/c.txt"), "c");
    writeFileSync(join(dir, "sub/skip.log"), "x");
    symlinkSync("b.txt", join(dir, "link"));
    const files = collectDirectory(dir, { prefix: "ctx", exclude: (rel) => rel.endsWith(".log") });
    expect(files.map((f) => [f.name, f.mode, f.linkTarget ?? f.data.toString()])).toEqual([
      ["ctx/a.sh", 0o755, "a"],
      ["ctx/b.txt", 0o644, "b"],
      ["ctx/link", 0o777, "b.txt"],
      ["ctx/sub/deep/c.txt", 0o644, "c"],
    ]);
  });
});

describe("parseDockerignore", () => {
  const ignored = parseDockerignore(
    ["# comment", "", "node_modules", "*.log", "/build/", "**/*.tmp", "docs/**", "!docs/keep.md", "secret?.txt", "./dist"].join("\n"),
  );

  it.each([
    ["node_modules", true],
    ["node_modules/x/index.js", true],
    ["a.log", true],
    ["sub/a.log", false], // like Docker: `*.log` is anchored at the context root
    ["build/out.bin", true],
    ["x/y/z.tmp", true],
    ["z.tmp", true],
    ["docs/a.md", true],
    ["docs/keep.md", false],
    ["secret1.txt", true],
    ["secret12.txt", false],
    ["dist/a.js", true],
    ["src/index.ts", false],
    ["Dockerfile", false],
  ])("%s → ignored: %s", (path, expected) => {
    expect(ignored(path)).toBe(expected);
  });

  it("ignores nothing when empty", () => {
    expect(parseDockerignore("")("anything")).toBe(false);
  });
});

describe("extra CA certificates", () => {
  const dir = mkdtempSync(join(tmpdir(), "llm-sandbox-ca-test-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const roots = join(dir, "roots");
  mkdirSync(roots);
  writeFileSync(join(roots, "Distro_Root.crt"), `${pem("RElTVFJP")}\n`);
  const noRoots = { distroRootsDir: join(dir, "none") };

  it("parses PEM blocks, normalizing line ends and blank lines", () => {
    expect(parsePemCertificates(`junk\r\n${pem("QUJD\r\n\r\nREVG")}\r\nmore ${pem("R0hJ")}`)).toEqual([
      pem("QUJD\nREVG"),
      pem("R0hJ"),
    ]);
  });

  it("bundles files and PEM text, deduplicated, without the host distribution's roots", () => {
    const bundle = join(dir, "bundle.crt");
    writeFileSync(bundle, [pem("RElTVFJP"), pem("UFJPWFk="), pem("UFJPWFk=")].join("\n"));
    expect(extraCaBundle([bundle, pem("UFJPWFk="), pem("T1RIRVI=")], undefined, { distroRootsDir: roots })).toBe(
      `${pem("UFJPWFk=")}\n${pem("T1RIRVI=")}\n`,
    );
  });

  it("is empty for no certificates", () => {
    expect(extraCaBundle([], undefined, noRoots)).toBe("");
  });

  it("rejects given sources that are missing or hold no certificate", () => {
    expect(() => extraCaBundle([join(dir, "missing.crt")], undefined, noRoots)).toThrow(ValidationError);
    writeFileSync(join(dir, "empty.crt"), "nothing here");
    expect(() => extraCaBundle([join(dir, "empty.crt")], undefined, noRoots)).toThrow(/no PEM certificate/);
  });

  it("defaults to LLM_SANDBOX_EXTRA_CA_CERTS, else NODE_EXTRA_CA_CERTS, warning about unreadable files", () => {
    const a = join(dir, "a.crt");
    const b = join(dir, "b.crt");
    writeFileSync(a, pem("QUFB"));
    writeFileSync(b, pem("QkJC"));
    const saved = { own: process.env.LLM_SANDBOX_EXTRA_CA_CERTS, node: process.env.NODE_EXTRA_CA_CERTS };
    const warnings: string[] = [];
    const logger = { debug() {}, info() {}, warn: (m: string) => warnings.push(m), error() {} };
    try {
      process.env.NODE_EXTRA_CA_CERTS = b;
      process.env.LLM_SANDBOX_EXTRA_CA_CERTS = `${a}:${join(dir, "gone.crt")}`;
      expect(extraCaBundle(undefined, logger, noRoots)).toBe(`${pem("QUFB")}\n`);
      expect(warnings).toEqual([expect.stringContaining("gone.crt")]);
      delete process.env.LLM_SANDBOX_EXTRA_CA_CERTS;
      expect(extraCaBundle(undefined, logger, noRoots)).toBe(`${pem("QkJC")}\n`);
    } finally {
      for (const [key, value] of [["LLM_SANDBOX_EXTRA_CA_CERTS", saved.own], ["NODE_EXTRA_CA_CERTS", saved.node]] as const) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    }
  });
});
