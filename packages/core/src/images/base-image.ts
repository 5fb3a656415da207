import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type Docker from "dockerode";
import { ImageBuildError, ImageNotFoundError, MissingDependencyError } from "../errors.js";
import { LABELS } from "../internal/labels.js";
import type { Logger } from "../internal/logger.js";
import {
  followJsonStream,
  inspectImage,
  pullImage,
  statusReporter,
  type ImageProgressListener,
} from "./engine-stream.js";
import { aptInstall, findProgram, isRoot, runHostCommand } from "../host/host-command.js";

/** The base every managed Dockerfile is written for (`ARG BASE=debian:bookworm-slim`). */
export const DEFAULT_BASE_IMAGE = "debian:bookworm-slim";
/** Made here with debootstrap when no registry can give DEFAULT_BASE_IMAGE. */
export const DEBOOTSTRAP_BASE_IMAGE = "llm-sandbox/debian:bookworm";
const SUITE = "bookworm";
const PULL_TIMEOUT_MS = 15_000;

export interface BaseImageOptions {
  readonly logger: Logger;
  readonly onProgress?: ImageProgressListener;
  readonly signal?: AbortSignal;
  /** Use this image as BASE instead (default: env LLM_SANDBOX_BASE_IMAGE); it must exist or be pullable. */
  readonly baseImage?: string;
}

const baseOverride = (options: { baseImage?: string }) =>
  options.baseImage ?? (process.env.LLM_SANDBOX_BASE_IMAGE?.trim() || undefined);

/** The base images the engine already has, in order of preference; no network. */
export async function localBaseImages(docker: Docker, options: { baseImage?: string } = {}): Promise<string[]> {
  const override = baseOverride(options);
  const candidates = override ? [override] : [DEFAULT_BASE_IMAGE, DEBOOTSTRAP_BASE_IMAGE];
  const present = await Promise.all(candidates.map(async (ref) => ((await inspectImage(docker, ref)) ? ref : undefined)));
  return present.filter((ref): ref is string => ref !== undefined);
}

/**
 * The image to pass as BASE: DEFAULT_BASE_IMAGE if the engine has it or can pull it within 15 s; otherwise a Debian
 * bookworm made with debootstrap and imported as DEBOOTSTRAP_BASE_IMAGE (made once, reused after).
 */
export async function resolveBaseImage(docker: Docker, options: BaseImageOptions): Promise<string> {
  const { logger, onProgress } = options;
  const override = baseOverride(options);
  const wanted = override ?? DEFAULT_BASE_IMAGE;
  if (await inspectImage(docker, wanted)) return wanted;
  statusReporter(wanted, options)("pulling (15 s at most)");
  try {
    await pullImage(docker, wanted, { timeoutMs: PULL_TIMEOUT_MS, signal: options.signal, onProgress });
    return wanted;
  } catch (error) {
    const reason = (error as Error).message.split("\n")[0];
    if (override) throw new ImageNotFoundError(override, `It is the BASE asked for and cannot be pulled: ${reason}`);
    logger.info(`cannot pull ${wanted} (${reason}); using a Debian ${SUITE} base made with debootstrap instead`);
  }
  if (await inspectImage(docker, DEBOOTSTRAP_BASE_IMAGE)) return DEBOOTSTRAP_BASE_IMAGE;
  await debootstrapImage(docker, DEBOOTSTRAP_BASE_IMAGE, options);
  return DEBOOTSTRAP_BASE_IMAGE;
}

// ---------------------------------------------------------------------------------------------------------------
// Debian mirrors, read from the host's apt sources

export interface AptSource {
  readonly uri: string;
  readonly suites: readonly string[];
  readonly components: readonly string[];
}

/** The `deb` entries of an apt sources file, in one-line (`.list`) or deb822 (`.sources`) format. */
export function parseAptSources(text: string, format: "list" | "deb822"): AptSource[] {
  const sources: AptSource[] = [];
  if (format === "list") {
    for (const raw of text.split("\n")) {
      const line = raw.replace(/#.*/, "").replace(/\[[^\]]*\]/, " ").trim();
      const [type, uri, suite, ...components] = line.split(/\s+/);
      if (type === "deb" && uri && suite) sources.push({ uri, suites: [suite], components });
    }
    return sources;
  }
  for (const paragraph of text.split(/\n\s*\n/)) {
    const fields: Record<string, string> = {};
    let current: string | undefined;
    for (const line of paragraph.split("\n")) {
      if (line.startsWith("#")) continue;
      const field = /^([A-Za-z-]+):\s*(.*)$/.exec(line);
      if (field?.[1]) {
        current = field[1].toLowerCase();
        fields[current] = field[2] ?? "";
      } else if (current && /^\s/.test(line)) fields[current] += ` ${line.trim()}`;
    }
    const words = (key: string) => (fields[key] ?? "").split(/\s+/).filter(Boolean);
    if (!words("types").includes("deb") || /^(no|false)$/i.test(fields.enabled ?? "")) continue;
    for (const uri of words("uris")) sources.push({ uri, suites: words("suites"), components: words("components") });
  }
  return sources;
}

const DEBIAN_SUITES = /^(buster|bullseye|bookworm|trixie|forky|duke|sid|oldoldstable|oldstable|stable|testing|unstable)$/;
const suiteBase = (suite: string) => suite.replace(/([/-](updates|security|backports|proposed-updates))+$/, "");

export interface DebianMirrors {
  /** The archive debootstrap downloads from. */
  readonly archive: string;
  /** Whether the host uses the `-updates` suite of that archive (always, when the host has no Debian sources). */
  readonly updates: boolean;
  /** The security archive, if the host uses one (always deb.debian.org's, when the host has no Debian sources). */
  readonly security?: string;
}

/**
 * The Debian archive (and security archive) among apt sources: the first `deb` entry with a Debian suite and the
 * `main` component (so Ubuntu's archives and third-party repositories such as Docker's are passed over), else
 * deb.debian.org.
 */
export function debianMirrors(sources: readonly AptSource[]): DebianMirrors {
  const debian = sources.filter(
    (s) => s.components.includes("main") && s.suites.some((suite) => DEBIAN_SUITES.test(suiteBase(suite))),
  );
  const isSecurity = (suite: string) => /[/-]security$|\/updates$/.test(suite);
  const archive = debian.find((s) => s.suites.some((suite) => !isSecurity(suite)));
  const security = debian.find((s) => s.suites.some(isSecurity));
  if (!archive) {
    return { archive: "http://deb.debian.org/debian", updates: true, security: "http://deb.debian.org/debian-security" };
  }
  const trim = (uri: string) => uri.replace(/\/+$/, "");
  return {
    archive: trim(archive.uri),
    updates: debian.some((s) => trim(s.uri) === trim(archive.uri) && s.suites.some((x) => x.endsWith("-updates"))),
    security: security && trim(security.uri),
  };
}

/** The host's Debian mirrors; env LLM_SANDBOX_DEBIAN_MIRROR names the archive outright. */
export function hostDebianMirrors(root = "/etc/apt"): DebianMirrors {
  const forced = process.env.LLM_SANDBOX_DEBIAN_MIRROR?.trim();
  if (forced) return { archive: forced.replace(/\/+$/, ""), updates: false };
  const sources: AptSource[] = [];
  const read = (path: string, format: "list" | "deb822") => {
    try {
      sources.push(...parseAptSources(readFileSync(path, "utf8"), format));
    } catch {
      // absent or unreadable: nothing to learn from it
    }
  };
  read(join(root, "sources.list"), "list");
  let names: string[] = [];
  try {
    names = readdirSync(join(root, "sources.list.d")).sort();
  } catch {
    // no sources.list.d
  }
  for (const name of names) {
    if (name.endsWith(".list")) read(join(root, "sources.list.d", name), "list");
    else if (name.endsWith(".sources")) read(join(root, "sources.list.d", name), "deb822");
  }
  return debianMirrors(sources);
}

// ---------------------------------------------------------------------------------------------------------------
// debootstrap + import

async function debootstrapImage(docker: Docker, tag: string, options: BaseImageOptions): Promise<void> {
  const { logger, onProgress } = options;
  const started = performance.now();
  const status = statusReporter(tag, options);
  const onLine = (message: string) => onProgress?.({ image: tag, kind: "log", message });
  if (!isRoot()) {
    throw new ImageNotFoundError(
      DEFAULT_BASE_IMAGE,
      "It cannot be pulled, and making a Debian base with debootstrap needs root. " +
        `Load or pull ${DEFAULT_BASE_IMAGE} into the engine, set LLM_SANDBOX_BASE_IMAGE to a Debian bookworm image it has, ` +
        "or run `npx llm-sandbox setup` as root",
    );
  }
  let debootstrap = findProgram("debootstrap");
  if (!debootstrap && findProgram("apt-get")) {
    status("installing debootstrap with apt-get");
    await aptInstall(["debootstrap"], onLine);
    debootstrap = findProgram("debootstrap");
  }
  if (!debootstrap) {
    throw new MissingDependencyError(
      `${DEFAULT_BASE_IMAGE} cannot be pulled and debootstrap is not installed: install debootstrap, or load ` +
        `${DEFAULT_BASE_IMAGE} into the engine`,
    );
  }

  const mirrors = hostDebianMirrors();
  const dir = await mkdtemp(join(existsSync("/var/tmp") ? "/var/tmp" : tmpdir(), "llm-sandbox-debootstrap-"));
  try {
    status(`debootstrap --variant=minbase ${SUITE} from ${mirrors.archive}`);
    await runHostCommand(debootstrap, ["--variant=minbase", SUITE, dir, mirrors.archive], {
      onLine,
      signal: options.signal,
    });
    await slimRootfs(dir, mirrors);
    status(`importing it as ${tag}`);
    await importRootfs(docker, dir, tag);
    status(`made in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  } catch (error) {
    if (error instanceof ImageBuildError) throw error;
    throw new ImageBuildError(tag, (error as Error).message, { cause: error });
  } finally {
    await removeRootfs(dir, logger).catch((error: Error) => logger.warn(`could not remove ${dir}: ${error.message}`));
  }
}

/** What debian:bookworm-slim leaves out (docs, man pages, locales, apt caches), and apt sources like the host's. */
async function slimRootfs(dir: string, mirrors: DebianMirrors): Promise<void> {
  const emptyDir = async (path: string, keep: (name: string) => boolean = () => false) => {
    let names: string[];
    try {
      names = await readdir(join(dir, path));
    } catch {
      return;
    }
    await Promise.all(names.filter((n) => !keep(n)).map((n) => rm(join(dir, path, n), { recursive: true, force: true })));
  };
  await emptyDir("var/lib/apt/lists", (n) => n === "partial" || n === "lock");
  await emptyDir("var/cache/apt/archives", (n) => !n.endsWith(".deb"));
  await emptyDir("var/cache/apt", (n) => !n.endsWith(".bin"));
  await emptyDir("usr/share/man");
  await emptyDir("usr/share/info");
  await emptyDir("usr/share/locale", (n) => n === "locale.alias");
  for (const pkg of await readdir(join(dir, "usr/share/doc")).catch(() => [] as string[])) {
    await emptyDir(join("usr/share/doc", pkg), (n) => n === "copyright");
  }
  await rm(join(dir, "var/log/bootstrap.log"), { force: true });

  const lines = [`deb ${mirrors.archive} ${SUITE} main`];
  if (mirrors.updates) lines.push(`deb ${mirrors.archive} ${SUITE}-updates main`);
  if (mirrors.security) lines.push(`deb ${mirrors.security} ${SUITE}-security main`);
  await writeFile(join(dir, "etc/apt/sources.list"), `${lines.join("\n")}\n`);
  await mkdir(join(dir, "etc/dpkg/dpkg.cfg.d"), { recursive: true });
  await writeFile(
    join(dir, "etc/dpkg/dpkg.cfg.d/llm-sandbox-slim"),
    [
      "# as in debian:*-slim: no documentation, man pages or translations",
      "path-exclude /usr/share/doc/*",
      "path-include /usr/share/doc/*/copyright",
      "path-exclude /usr/share/man/*",
      "path-exclude /usr/share/groff/*",
      "path-exclude /usr/share/info/*",
      "path-exclude /usr/share/lintian/*",
      "path-exclude /usr/share/locale/*",
      "path-include /usr/share/locale/locale.alias",
      "",
    ].join("\n"),
  );
  await writeFile(
    join(dir, "etc/apt/apt.conf.d/llm-sandbox-clean"),
    [
      'DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };',
      'APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };',
      'Dir::Cache::pkgcache "";',
      'Dir::Cache::srcpkgcache "";',
      'Acquire::Languages "none";',
      "",
    ].join("\n"),
  );
}

/** `tar` of the root file system streamed into the Engine API's image import (no docker CLI). */
async function importRootfs(docker: Docker, dir: string, tag: string): Promise<void> {
  const tarProcess = spawn(
    "tar",
    ["--numeric-owner", "--exclude=./dev/*", "--exclude=./proc/*", "--exclude=./sys/*", "-C", dir, "-cf", "-", "."],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let tarErrors = "";
  tarProcess.stderr.on("data", (chunk: Buffer) => (tarErrors += chunk.toString()));
  const tarExit = new Promise<number | null>((resolve, reject) => {
    tarProcess.on("error", reject);
    tarProcess.on("close", resolve);
  });
  let failure: string | undefined;
  try {
    // The tag goes in `repo` (the API allows it there): Podman's compatible import ignores `tag` and names it latest.
    const stream = await docker.importImage(tarProcess.stdout, {
      repo: tag,
      changes: [
        `LABEL ${LABELS.managed}=true`,
        "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        'CMD ["bash"]',
      ],
    });
    await followJsonStream(stream, (m) => {
      if (m.error || m.errorDetail) failure = m.errorDetail?.message ?? m.error;
    });
  } finally {
    if (tarProcess.exitCode === null) tarProcess.kill();
  }
  const code = await tarExit;
  if (code !== 0) {
    await docker.getImage(tag).remove({ force: true }).catch(() => undefined);
    failure ??= `tar exited with code ${code}: ${tarErrors.trim()}`;
  }
  if (failure) throw new ImageBuildError(tag, `importing the debootstrap tree failed: ${failure}`);
}

/** Removes the debootstrap tree, first unmounting anything a killed debootstrap left mounted inside it. */
async function removeRootfs(dir: string, logger: Logger): Promise<void> {
  const mountsInside = () =>
    readFileSync("/proc/self/mountinfo", "utf8")
      .split("\n")
      .map((line) => (line.split(" ")[4] ?? "").replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))))
      .filter((point) => point === dir || point.startsWith(`${dir}/`))
      .sort((a, b) => b.length - a.length);
  try {
    for (const point of mountsInside()) await runHostCommand("umount", ["-l", point]).catch(() => undefined);
    const left = mountsInside();
    if (left.length) {
      logger.warn(`not removing ${dir}: still mounted inside it: ${left.join(", ")}`);
      return;
    }
  } catch {
    // no /proc/self/mountinfo (not Linux): nothing can be mounted by debootstrap there
  }
  await rm(dir, { recursive: true, force: true });
}
