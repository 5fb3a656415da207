/**
 * Builds the managed images (`images/<dir>/Dockerfile` ⇒ `llm-sandbox/<dir>:latest`) and users' Dockerfiles
 * through the Engine API only (dockerode), so any Docker-compatible engine (Podman's service too) can be used.
 *
 * An image carries the sha256 of what it was built from (LABELS.dockerfileHash); when that matches, it is up to date.
 * `llm-sandbox/base` (images/base) is built first, FROM the Debian base (debian:bookworm-slim, or a debootstrap'd
 * one where no registry answers); every other image is FROM it, and its hash includes base's, so a change to base
 * rebuilds them all.
 *
 * Adding a language image is adding a directory `images/<name>/` with a Dockerfile (and any files it COPYs; the
 * directory is the build context): `ARG BASE=llm-sandbox/base:latest` / `FROM ${BASE}`, install Debian packages with
 * `llm-sandbox-apt-install PACKAGE...`, and end with `USER sandbox` (base sets WORKDIR /sandbox and the CMD).
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { basename, dirname, resolve } from "node:path";
import type Docker from "dockerode";
import { ImageBuildError, ImageNotFoundError, ImagePullError, ValidationError } from "../errors.js";
import { describeEndpoint } from "../backends/engine-client.js";
import { LABELS } from "../internal/labels.js";
import { silentLogger, type Logger } from "../internal/logger.js";
import { packageFile } from "../internal/package-files.js";
import { localBaseImages, resolveBaseImage } from "./base-image.js";
import {
  collectDirectory,
  contextHash,
  extraCaBundle,
  packContext,
  parseDockerignore,
  type ContextFile,
} from "./context.js";
import {
  followJsonStream,
  inspectImage,
  pullImage,
  statusReporter,
  type ImageProgressEvent,
  type ImageProgressListener,
} from "./engine-stream.js";

export type { ImageProgressEvent, ImageProgressListener } from "./engine-stream.js";

const MANAGED_REPOSITORY = "llm-sandbox/";
const CUSTOM_REPOSITORY = "llm-sandbox-custom/";
/** The image every other managed image is built FROM. */
const BASE_DIR = "base";
const EXTRA_CA_FILE = "extra-ca.crt";
const LOG_TAIL_LINES = 300;
const ANSI_COLOUR = /\x1b\[[0-9;]*m/g;
const TLS_FAILURE = /SSL certificate problem|certificate verify failed|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_GET_ISSUER_CERT|unable to get local issuer certificate/i;

export interface ImageBuildOptions {
  readonly logger?: Logger;
  readonly onProgress?: ImageProgressListener;
  /**
   * CA certificates to trust in the image (file paths or PEM text), written to `extra-ca.crt` in the build context.
   * Default: the files in env LLM_SANDBOX_EXTRA_CA_CERTS (colon-separated), else NODE_EXTRA_CA_CERTS.
   */
  readonly extraCaCerts?: readonly string[];
  readonly signal?: AbortSignal;
}

export interface EnsureImagesOptions extends ImageBuildOptions {
  /** Directories of `images/` to build (default: all of them, see managedImageDirs()). */
  readonly dirs?: readonly string[];
  /** Rebuild even when up to date, without the engine's layer cache (fresh packages). */
  readonly force?: boolean;
  /** BASE for the Dockerfiles (default: env LLM_SANDBOX_BASE_IMAGE, else debian:bookworm-slim or a debootstrap'd one). */
  readonly baseImage?: string;
}

export interface EnsuredImage {
  readonly image: string;
  readonly status: "built" | "up-to-date";
  readonly seconds: number;
}

// ---------------------------------------------------------------------------------------------------------------
// Names

const imagesRoot = () => packageFile("images");
const DIR_NAME = /^[a-z0-9][a-z0-9._-]*$/;

/** `python` ⇒ `llm-sandbox/python:latest`. */
export function managedImageName(dir: string): string {
  if (!DIR_NAME.test(dir)) throw new ValidationError(`Not an image directory name: ${dir}`);
  return `${MANAGED_REPOSITORY}${dir}:latest`;
}

/** The image directories shipped in `images/` (those with a Dockerfile), sorted, `base` first. */
export function managedImageDirs(): string[] {
  return readdirSync(imagesRoot(), { withFileTypes: true })
    .filter((e) => e.isDirectory() && DIR_NAME.test(e.name))
    .filter((e) => existsSync(packageFile("images", e.name, "Dockerfile")))
    .map((e) => e.name)
    .sort((a, b) => Number(b === BASE_DIR) - Number(a === BASE_DIR) || a.localeCompare(b));
}

/** The directory a managed image name stands for (`llm-sandbox/python[:latest]`, also with `docker.io/`), if any. */
export function managedImageDir(ref: string): string | undefined {
  return /^(?:docker\.io\/)?llm-sandbox\/([a-z0-9][a-z0-9._-]*)(?::latest)?$/.exec(ref)?.[1];
}

// ---------------------------------------------------------------------------------------------------------------
// Public operations

/**
 * Builds the managed images that are missing or out of date, `base` first (the others are FROM it), one after the
 * other. The Debian base is resolved at most once per call, and only when `base` has to be built.
 */
export async function ensureImages(docker: Docker, options: EnsureImagesOptions = {}): Promise<EnsuredImage[]> {
  const logger = options.logger ?? silentLogger;
  const available = managedImageDirs();
  const requested = options.dirs ?? available;
  const unknown = requested.filter((d) => !available.includes(d));
  if (unknown.length) {
    throw new ValidationError(`No image directory ${unknown.join(", ")} in ${imagesRoot()} (there are: ${available.join(", ")})`);
  }
  const dirs = [BASE_DIR, ...new Set(requested.filter((d) => d !== BASE_DIR))];
  const extraCa = extraCaBundle(options.extraCaCerts, logger);
  const results: EnsuredImage[] = [];
  for (const dir of dirs) {
    const started = performance.now();
    const image = managedImageName(dir);
    const files = managedContextFiles(dir, extraCa);
    const label = (await inspectImage(docker, image))?.Config?.Labels?.[LABELS.dockerfileHash];
    const from = dir === BASE_DIR ? await debianBase(docker, files, label, { ...options, logger }) : await builtBase(docker, files, label, options.force);
    if (!from.build) {
      statusReporter(image, { ...options, logger })("up to date");
      results.push({ image, status: "up-to-date", seconds: elapsed(started) });
      continue;
    }
    await buildOnce(docker, image, { ...options, logger, files, hash: from.hash, buildargs: { BASE: from.reference }, nocache: options.force });
    results.push({ image, status: "built", seconds: elapsed(started) });
  }
  return results.filter((result) => requested.includes(managedImageDir(result.image)!) || result.status === "built");
}

interface BuildBase {
  /** Whether the image must be built; when not, the rest is unset. */
  readonly build: boolean;
  readonly hash: string;
  /** What the engine calls the image to build FROM. */
  readonly reference: string;
}

/** For `base`: up to date when its label matches a Debian base present here; else built FROM the resolved one. */
async function debianBase(docker: Docker, files: readonly ContextFile[], label: string | undefined, options: EnsureImagesOptions & { logger: Logger }): Promise<BuildBase> {
  const local = options.force ? [] : await localBaseImages(docker, options);
  if (label && local.some((b) => contextHash(files, { BASE: b }) === label)) return { build: false, hash: label, reference: "" };
  const debian = await resolveBaseImage(docker, options);
  return { build: true, hash: contextHash(files, { BASE: debian }), reference: engineReference(await inspectImage(docker, debian), debian) };
}

/** For the other images: FROM llm-sandbox/base (built just before), whose hash is part of theirs. */
async function builtBase(docker: Docker, files: readonly ContextFile[], label: string | undefined, force: boolean | undefined): Promise<BuildBase> {
  const base = managedImageName(BASE_DIR);
  const info = await inspectImage(docker, base);
  const baseHash = info?.Config?.Labels?.[LABELS.dockerfileHash];
  if (!baseHash) throw new ImageBuildError(base, `${base} is missing after it was built`);
  const hash = contextHash(files, { BASE: baseHash });
  return { build: Boolean(force) || label !== hash, hash, reference: engineReference(info, base) };
}

/**
 * Makes sure the engine has `ref` before a session starts a container from it: present ⇒ nothing to do; a managed
 * image not built yet ⇒ built now (once); anything else ⇒ pulled. Managed names are never pulled: no registry
 * publishes them, and a same-named image there would not be ours.
 */
export async function prepareImage(
  docker: Docker,
  ref: string,
  options: ImageBuildOptions & { readonly logger: Logger; readonly onProgress?: ImageProgressListener },
): Promise<void> {
  const { logger } = options;
  if (await inspectImage(docker, ref)) return;
  const dir = managedImageDir(ref);
  if (dir !== undefined) {
    if (!managedImageDirs().includes(dir)) {
      throw new ImageNotFoundError(ref, `There is no images/${dir} to build it from; run \`npx llm-sandbox setup\``);
    }
    logger.warn(`${ref} is not built yet: building it now (once; \`npx llm-sandbox setup\` does this ahead of time)`);
    await ensureImages(docker, { ...options, dirs: [dir] });
    return;
  }
  logger.info(`pulling ${ref}`);
  // pullImage resolves only once the engine has the image.
  try {
    await pullImage(docker, ref, { signal: options.signal, onProgress: options.onProgress });
  } catch (cause) {
    throw new ImagePullError(ref, (cause as Error).message, { cause });
  }
}

/**
 * Builds a user's Dockerfile with its directory as the context and returns the tag,
 * `llm-sandbox-custom/<first 12 hex of the context hash>:latest`; skipped when an image with that hash exists.
 * A `.dockerignore` in the directory is honoured (a subset of its syntax: see parseDockerignore). The extra CA
 * bundle is added as `extra-ca.crt` (unless the directory has such a file) so the Dockerfile may `COPY` it.
 */
export async function buildDockerfile(
  docker: Docker,
  dockerfilePath: string,
  options: ImageBuildOptions & { readonly logger: Logger; readonly onProgress?: ImageProgressListener },
): Promise<string> {
  const path = resolve(dockerfilePath);
  if (!existsSync(path) || !statSync(path).isFile()) throw new ValidationError(`Dockerfile not found: ${path}`);
  const contextDir = dirname(path);
  const dockerfile = basename(path);
  const ignorePath = resolve(contextDir, ".dockerignore");
  const ignored = existsSync(ignorePath) ? parseDockerignore(readFileSync(ignorePath, "utf8")) : () => false;
  const files = collectDirectory(contextDir, {
    exclude: (rel) => rel !== dockerfile && rel !== ".dockerignore" && ignored(rel),
  });
  const extraCa = extraCaBundle(options.extraCaCerts, options.logger);
  if (extraCa && !files.some((f) => f.name === EXTRA_CA_FILE)) files.push(textFile(EXTRA_CA_FILE, extraCa));
  const size = files.reduce((sum, f) => sum + f.data.length, 0);
  if (size > 100 * 2 ** 20) {
    options.logger.warn(`the build context ${contextDir} holds ${Math.round(size / 2 ** 20)} MB; a .dockerignore can leave files out`);
  }
  const hash = contextHash(files, { dockerfile });
  const image = `${CUSTOM_REPOSITORY}${hash.slice(0, 12)}:latest`;
  if ((await inspectImage(docker, image))?.Config?.Labels?.[LABELS.dockerfileHash] === hash) return image;
  await buildOnce(docker, image, { ...options, files, hash, dockerfile });
  return image;
}

// ---------------------------------------------------------------------------------------------------------------
// Building

/** The build context of a managed image: its directory's files; `base` also gets `extra-ca.crt`. */
function managedContextFiles(dir: string, extraCa: string): ContextFile[] {
  const files = collectDirectory(packageFile("images", dir)).filter((f) => f.name !== EXTRA_CA_FILE);
  return dir === BASE_DIR ? [...files, textFile(EXTRA_CA_FILE, extraCa)] : files;
}

/**
 * The name the engine itself gives a local image. Podman's compatible build resolves a short FROM name on docker.io
 * (and tries to pull it), while its store names local images `localhost/…`; its own name is found locally. The
 * content hash keeps the plain name, so an image hashes the same on every engine.
 */
const engineReference = (info: Docker.ImageInspectInfo | undefined, ref: string): string => info?.RepoTags?.[0] ?? ref;

const textFile = (name: string, text: string): ContextFile => ({ name, data: Buffer.from(text), mode: 0o644 });
const elapsed = (started: number) => Math.round((performance.now() - started) / 100) / 10;

interface BuildRequest extends ImageBuildOptions {
  readonly logger: Logger;
  readonly files: readonly ContextFile[];
  readonly hash: string;
  readonly buildargs?: Record<string, string>;
  readonly dockerfile?: string;
  readonly nocache?: boolean;
}

/** Concurrent requests for the same image on the same engine (sessions opening together) share one build. */
const inflight = new Map<string, Promise<void>>();

function buildOnce(docker: Docker, image: string, request: BuildRequest): Promise<void> {
  const key = `${describeEndpoint(docker)} ${image} ${request.hash}`;
  let build = inflight.get(key);
  if (!build) {
    build = runBuild(docker, image, request).finally(() => inflight.delete(key));
    inflight.set(key, build);
  }
  return build;
}

async function runBuild(docker: Docker, image: string, request: BuildRequest): Promise<void> {
  const { onProgress } = request;
  const emit = (kind: ImageProgressEvent["kind"], message: string) => onProgress?.({ image, kind, message });
  const previousId = (await inspectImage(docker, image))?.Id;
  const log: string[] = [];
  const remember = (line: string) => {
    log.push(line);
    if (log.length > LOG_TAIL_LINES) log.shift();
  };
  let failure: string | undefined;
  const status = statusReporter(image, request);
  const started = performance.now();
  status("building");
  try {
    const context = await packContext(request.files);
    // A Buffer body is sent with a Content-Length; dockerode passes it through unchanged (its typings only name streams).
    const stream = await docker.buildImage(context as unknown as NodeJS.ReadableStream, {
      t: image,
      labels: { [LABELS.managed]: "true", [LABELS.dockerfileHash]: request.hash },
      networkmode: "bridge",
      rm: true,
      forcerm: true,
      // Unset options stay out of the query string (dockerode would send them as empty values).
      ...(request.dockerfile && { dockerfile: request.dockerfile }),
      ...(request.buildargs && { buildargs: request.buildargs }),
      ...(request.nocache && { nocache: true }),
      ...(request.signal && { abortSignal: request.signal }),
    });
    await followJsonStream(stream, (m) => {
      if (m.error || m.errorDetail) {
        failure = m.errorDetail?.message ?? m.error ?? "unknown error";
        remember(failure);
        return;
      }
      const text = m.stream ?? (m.status && !m.progressDetail?.current ? m.status : undefined);
      // The classic builder colours RUN steps' stderr; the colour codes are noise in logs and errors.
      for (const line of (text ?? "").replace(ANSI_COLOUR, "").split("\n")) {
        const trimmed = line.trimEnd();
        if (!trimmed) continue;
        remember(trimmed);
        emit(/^Step \d+\/\d+ : /.test(trimmed) ? "step" : "log", trimmed);
      }
    });
  } catch (cause) {
    if (request.signal?.aborted) throw cause;
    throw new ImageBuildError(image, [...log, (cause as Error).message].join("\n"), { cause });
  }
  request.signal?.throwIfAborted();
  if (failure) {
    if (log.some((line) => TLS_FAILURE.test(line))) {
      remember(
        "hint: a TLS-inspecting proxy? Trust its CA in the image with `llm-sandbox setup --ca-cert PATH`, " +
          "LLM_SANDBOX_EXTRA_CA_CERTS or NODE_EXTRA_CA_CERTS (the extraCaCerts option)",
      );
    }
    throw new ImageBuildError(image, log.join("\n"));
  }
  const built = await inspectImage(docker, image);
  if (built?.Config?.Labels?.[LABELS.dockerfileHash] !== request.hash) {
    throw new ImageBuildError(image, [...log, "the build ended without producing the image"].join("\n"));
  }
  if (previousId && previousId !== built.Id) {
    // The replaced image is left untagged; remove it unless a container still uses it.
    await docker
      .getImage(previousId)
      .remove()
      .catch(() => undefined);
  }
  status(`built in ${elapsed(started).toFixed(1)} s`);
}
