import { createHash } from "node:crypto";
import { lstatSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import tar from "tar-stream";
import { ValidationError } from "../errors.js";
import type { Logger } from "../internal/logger.js";

/** One member of a build context: a file (with its bytes) or a symbolic link (with its target). */
export interface ContextFile {
  /** POSIX path inside the context. */
  readonly name: string;
  readonly data: Buffer;
  readonly mode: number;
  readonly linkTarget?: string;
}

/** The files under `root` (recursively, sorted, named `prefix/…`), minus those `exclude` rejects. */
export function collectDirectory(
  root: string,
  { prefix = "", exclude }: { prefix?: string; exclude?: (relativePath: string, isDirectory: boolean) => boolean } = {},
): ContextFile[] {
  const files: ContextFile[] = [];
  const walk = (dir: string, relative: string) => {
    for (const name of readdirSync(dir).sort()) {
      const rel = relative ? `${relative}/${name}` : name;
      const path = join(dir, name);
      const stat = lstatSync(path);
      if (exclude?.(rel, stat.isDirectory())) continue;
      const contextName = prefix ? `${prefix}/${rel}` : rel;
      if (stat.isDirectory()) walk(path, rel);
      else if (stat.isSymbolicLink()) {
        files.push({ name: contextName, data: Buffer.alloc(0), mode: 0o777, linkTarget: readlinkSync(path) });
      } else if (stat.isFile()) {
        files.push({ name: contextName, data: readFileSync(path), mode: stat.mode & 0o111 ? 0o755 : 0o644 });
      }
    }
  };
  walk(root, "");
  return files;
}

/**
 * sha256 over a context's files (names, kinds and bytes, in name order) and `extras` (such as the resolved BASE).
 * File modes and times are left out on purpose: a checkout's permissions and mtimes must not force rebuilds.
 */
export function contextHash(files: readonly ContextFile[], extras: Readonly<Record<string, string>> = {}): string {
  const hash = createHash("sha256").update("llm-sandbox-context-v1\0");
  for (const file of [...files].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const kind = file.linkTarget === undefined ? "file" : "link";
    const body = file.linkTarget === undefined ? file.data : Buffer.from(file.linkTarget);
    hash.update(`${kind}\0${file.name}\0${body.length}\0`).update(body).update("\0");
  }
  for (const key of Object.keys(extras).sort()) hash.update(`extra\0${key}\0${extras[key]}\0`);
  return hash.digest("hex");
}

/** A tar archive of the files (with their parent directories), built in memory, for the Engine API's /build. */
export async function packContext(files: readonly ContextFile[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on("data", (chunk: unknown) => chunks.push(chunk as Buffer));
  const done = new Promise<void>((resolve, reject) => {
    pack.on("end", resolve);
    pack.on("error", reject);
  });
  const mtime = new Date(0);
  const directories = new Set<string>();
  for (const file of files) {
    const parts = file.name.split("/");
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join("/");
      if (directories.has(dir)) continue;
      directories.add(dir);
      pack.entry({ name: `${dir}/`, type: "directory", mode: 0o755, mtime });
    }
    if (file.linkTarget !== undefined) {
      pack.entry({ name: file.name, type: "symlink", linkname: file.linkTarget, mode: 0o777, mtime });
    } else {
      pack.entry({ name: file.name, type: "file", size: file.data.length, mode: file.mode, mtime }, file.data);
    }
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

// ---------------------------------------------------------------------------------------------------------------
// .dockerignore

interface IgnoreRule {
  readonly negate: boolean;
  readonly regex: RegExp;
}

/**
 * A `.dockerignore` subset: `#` comments, `!` exceptions, `*`, `?`, `**` and `[…]` classes, leading `/` and `./`
 * ignored, the last matching line wins, and a pattern that matches a directory excludes what is inside it.
 * Not supported: escaping with `\`. Returns a predicate that is true for paths to leave out of the context.
 */
export function parseDockerignore(text: string): (relativePath: string) => boolean {
  const rules: IgnoreRule[] = [];
  for (const raw of text.split(/\r?\n/)) {
    let line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const negate = line.startsWith("!");
    if (negate) line = line.slice(1).trim();
    line = line.replace(/^(\.?\/)+/, "").replace(/\/+$/, "");
    if (!line || line === ".") continue;
    rules.push({ negate, regex: globToRegex(line) });
  }
  return (relativePath) => {
    const parts = relativePath.split("/");
    let excluded = false;
    for (const rule of rules) {
      // A rule matches the path itself or any directory above it.
      for (let i = parts.length; i >= 1; i--) {
        if (rule.regex.test(parts.slice(0, i).join("/"))) {
          excluded = !rule.negate;
          break;
        }
      }
    }
    return excluded;
  };
}

function globToRegex(glob: string): RegExp {
  let source = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string;
    if (c === "*") {
      if (glob[i + 1] === "*") {
        // `**/` matches zero or more directories; a trailing `**` matches everything below.
        i++;
        if (glob[i + 1] === "/") {
          i++;
          source += "(?:.*/)?";
        } else source += ".*";
      } else source += "[^/]*";
    } else if (c === "?") source += "[^/]";
    else if (c === "[") {
      const end = glob.indexOf("]", i + 1);
      if (end < 0) source += "\\[";
      else {
        source += `[${glob.slice(i + 1, end).replace(/^!/, "^").replace(/\\/g, "\\\\")}]`;
        i = end;
      }
    } else source += c.replace(/[.+^${}()|\\]/g, "\\$&");
  }
  return new RegExp(`^${source}$`);
}

// ---------------------------------------------------------------------------------------------------------------
// Extra CA certificates

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/** The PEM certificates in `text`, each normalized (LF line ends, no blank lines). */
export function parsePemCertificates(text: string): string[] {
  return (text.match(PEM_CERT) ?? []).map((block) =>
    block
      .split(/\r?\n/)
      .map((line) => line.trim())
      .filter(Boolean)
      .join("\n"),
  );
}

/** The CA files setup uses when none are given: LLM_SANDBOX_EXTRA_CA_CERTS (colon-separated), else NODE_EXTRA_CA_CERTS. */
export function defaultExtraCaCertSources(env: NodeJS.ProcessEnv = process.env): string[] {
  const list = env.LLM_SANDBOX_EXTRA_CA_CERTS?.trim() ? env.LLM_SANDBOX_EXTRA_CA_CERTS : env.NODE_EXTRA_CA_CERTS;
  return (list ?? "")
    .split(":")
    .map((s) => s.trim())
    .filter(Boolean);
}

/** Where Debian, Ubuntu and Alpine keep the Mozilla roots their ca-certificates package ships. */
export const DISTRO_ROOTS_DIR = "/usr/share/ca-certificates/mozilla";

const certBody = (pem: string) => pem.replace(/-----[A-Z ]+-----|\s/g, "");

/**
 * The contents of `extra-ca.crt`: every certificate of the sources (file paths or PEM text), deduplicated, one
 * bundle. Given sources must all be readable and hold certificates (ValidationError otherwise); when none are given
 * the defaults from the environment are read, and unreadable ones only cause a warning.
 *
 * Certificates of the host's distribution root store (`distroRootsDir`) are left out: they are not "extra", the
 * image has its own (possibly newer) copy of that store, and re-adding them from an older host would bring back
 * roots the distribution has since distrusted. This matters because NODE_EXTRA_CA_CERTS often names the whole
 * system bundle.
 */
export function extraCaBundle(
  sources: readonly string[] | undefined,
  logger?: Logger,
  { distroRootsDir = DISTRO_ROOTS_DIR }: { distroRootsDir?: string } = {},
): string {
  const strict = sources !== undefined;
  const seen = readDistroRoots(distroRootsDir);
  const certs: string[] = [];
  for (const source of sources ?? defaultExtraCaCertSources()) {
    const isPem = source.includes("-----BEGIN");
    let text: string;
    try {
      text = isPem ? source : readFileSync(source, "utf8");
    } catch (cause) {
      const message = `cannot read CA certificate file ${source}: ${(cause as Error).message}`;
      if (strict) throw new ValidationError(message, { cause });
      logger?.warn(`${message} (ignored)`);
      continue;
    }
    const found = parsePemCertificates(text);
    if (found.length === 0) {
      const message = `no PEM certificate in ${isPem ? "the given CA text" : source}`;
      if (strict) throw new ValidationError(message);
      logger?.warn(`${message} (ignored)`);
    }
    for (const cert of found) {
      const body = certBody(cert);
      if (seen.has(body)) continue;
      seen.add(body);
      certs.push(cert);
    }
  }
  return certs.length ? `${certs.join("\n")}\n` : "";
}

function readDistroRoots(dir: string): Set<string> {
  const bodies = new Set<string>();
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return bodies;
  }
  for (const name of names) {
    if (!name.endsWith(".crt")) continue;
    try {
      for (const cert of parsePemCertificates(readFileSync(join(dir, name), "utf8"))) bodies.add(certBody(cert));
    } catch {
      // unreadable: not part of what we can compare against
    }
  }
  return bodies;
}
