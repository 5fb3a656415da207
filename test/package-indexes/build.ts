/**
 * Builds the packages the local package indexes serve, each with the real tool of its ecosystem inside the
 * project's own images (no toolchain on the host, no network): a wheel (pip), an npm tarball (npm pack), a Go
 * module zip, a gem (gem build + gem generate_index), an R source package (R CMD build + tools::write_PACKAGES)
 * and two jars with POMs (javac + jar; the second depends on the first). The result is a directory laid out as
 * each index expects, cached under `.llm-sandbox-cache/` by the hash of the sources and of this file.
 */
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { createSession, type SandboxSession } from "../../packages/core/src/index.js";

const here = fileURLToPath(new URL(".", import.meta.url));
const sources = join(here, "sources");
const cacheRoot = join(here, "..", "..", ".llm-sandbox-cache", "package-indexes");

/** What the fixtures are called in each index (the tests import them by these names). */
export const FIXTURES = {
  pip: { name: "llm-sandbox-fixture", version: "1.0.0" },
  npm: { name: "llm-sandbox-fixture", version: "1.0.0" },
  go: { module: "fixtures.llm-sandbox.test/greet", version: "v1.0.0" },
  rubygems: { name: "llm_sandbox_fixture", version: "1.0.0" },
  cran: { name: "llmSandboxFixture", version: "1.0.0" },
  maven: { group: "org.llmsandbox.fixture", artifacts: ["words", "greeter"], version: "1.0.0" },
} as const;

/** The served tree (built now unless cached): `pypi/`, `npm/`, `go/`, `gems/`, `cran/`, `maven/`. */
export async function buildPackageIndexes(log: (line: string) => void = () => {}): Promise<string> {
  const key = await sourcesHash();
  const root = join(cacheRoot, key);
  if (existsSync(join(root, ".complete"))) return root;
  const started = Date.now();
  log("building the test package indexes (cached after the first time)");
  await mkdir(cacheRoot, { recursive: true });
  const staging = await mkdtemp(join(cacheRoot, "staging-"));
  try {
    const builds = await Promise.allSettled([pypi, npm, goProxy, gems, cran, maven].map((build) => build(staging)));
    const failed = builds.find((build) => build.status === "rejected");
    if (failed) throw failed.reason;
    await writeFile(join(staging, ".complete"), new Date().toISOString());
    await rm(root, { recursive: true, force: true });
    await rename(staging, root);
    // Older builds (of older sources) and what interrupted builds left: drop them.
    for (const name of await readdir(cacheRoot)) if (name !== key) await rm(join(cacheRoot, name), { recursive: true, force: true });
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  log(`test package indexes built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return root;
}

async function sourcesHash(): Promise<string> {
  const hash = createHash("sha256").update(await readFile(fileURLToPath(import.meta.url)));
  const walk = async (dir: string): Promise<void> => {
    for (const entry of (await readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else hash.update(`${relative(sources, path)}\0`).update(await readFile(path)).update("\0");
    }
  };
  await walk(sources);
  return hash.digest("hex").slice(0, 16);
}

/** Runs `script` in a session of `lang` with the fixture's sources in the workdir's `src/`; returns the files of `out/`. */
async function buildIn(lang: string, fixture: string, script: string): Promise<Map<string, Buffer>> {
  const session: SandboxSession = await createSession({ lang, skipEnvironmentSetup: true }).open();
  const host = await mkdtemp(join(tmpdir(), `llm-sandbox-fixture-${fixture}-`));
  try {
    await session.copyToRuntime(join(sources, fixture), "src");
    const result = await session.executeCommand(`set -e; mkdir -p out; ${script}`, { timeout: 300 });
    if (result.exitCode !== 0) throw new Error(`building the ${fixture} fixture failed:\n${result.stdout}${result.stderr}`);
    await session.copyFromRuntime("out", host);
    const files = new Map<string, Buffer>();
    const walk = async (dir: string): Promise<void> => {
      for (const entry of await readdir(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) await walk(path);
        else files.set(relative(host, path), await readFile(path));
      }
    };
    await walk(host);
    return files;
  } finally {
    await session.close();
    await rm(host, { recursive: true, force: true });
  }
}

async function put(root: string, path: string, data: string | Buffer): Promise<void> {
  await mkdir(join(root, path, ".."), { recursive: true });
  await writeFile(join(root, path), data);
}

const digest = (algorithm: string, data: Buffer, encoding: "hex" | "base64" = "hex") =>
  createHash(algorithm).update(data).digest(encoding);

/** PEP 503: /simple/ lists projects, /simple/<name>/ links the files with their sha256. */
async function pypi(root: string): Promise<void> {
  const files = await buildIn("python", "python", "python3 -m pip wheel --no-deps --no-build-isolation --no-index --disable-pip-version-check -w out ./src");
  const { name } = FIXTURES.pip;
  const links: string[] = [];
  for (const [file, data] of files) {
    await put(root, `pypi/packages/${file}`, data);
    links.push(`<a href="../../packages/${file}#sha256=${digest("sha256", data)}">${file}</a>`);
  }
  await put(root, "pypi/simple/index.html", `<!DOCTYPE html><html><body><a href="${name}/">${name}</a></body></html>\n`);
  await put(root, `pypi/simple/${name}/index.html`, `<!DOCTYPE html><html><body>${links.join("<br>")}</body></html>\n`);
}

/** An npm registry's packument (`/<name>`, served from index.json) and tarball; the server fills in its own URL. */
async function npm(root: string): Promise<void> {
  const files = await buildIn("javascript", "npm", "cd src && npm pack --pack-destination ../out --loglevel=error");
  const { name, version } = FIXTURES.npm;
  const tarball = files.get(`${name}-${version}.tgz`);
  if (!tarball) throw new Error(`npm pack made ${[...files.keys()].join(", ")}, not ${name}-${version}.tgz`);
  const manifest = JSON.parse(await readFile(join(sources, "npm", "package.json"), "utf8")) as Record<string, unknown>;
  await put(root, `npm/${name}/-/${name}-${version}.tgz`, tarball);
  const packument = {
    name,
    "dist-tags": { latest: version },
    versions: {
      [version]: {
        ...manifest,
        _id: `${name}@${version}`,
        dist: {
          tarball: `__BASE_URL__/npm/${name}/-/${name}-${version}.tgz`,
          shasum: digest("sha1", tarball),
          integrity: `sha512-${digest("sha512", tarball, "base64")}`,
        },
      },
    },
  };
  await put(root, `npm/${name}/index.json`, JSON.stringify(packument, null, 2));
}

/** GOPROXY protocol: /<module>/@v/list, .info, .mod and .zip (files under module@version/), and /@latest. */
async function goProxy(root: string): Promise<void> {
  const { module, version } = FIXTURES.go;
  const prefix = `${module}@${version}`;
  const files = await buildIn(
    "bash",
    "go",
    `mkdir -p "stage/${prefix}" && cp src/* "stage/${prefix}/" && cd stage && zip -q -X -D -r "../out/${version}.zip" "${prefix}"`,
  );
  const info = JSON.stringify({ Version: version, Time: "2025-01-01T00:00:00Z" });
  await put(root, `go/${module}/@v/${version}.zip`, files.get(`${version}.zip`)!);
  await put(root, `go/${module}/@v/${version}.mod`, await readFile(join(sources, "go", "go.mod")));
  await put(root, `go/${module}/@v/${version}.info`, info);
  await put(root, `go/${module}/@v/list`, `${version}\n`);
  await put(root, `go/${module}/@latest`, info);
}

/** A gem source: the gem under gems/ and the indexes `gem generate_index` writes. */
async function gems(root: string): Promise<void> {
  const files = await buildIn(
    "ruby",
    "ruby",
    "cd src && gem build --quiet *.gemspec && mkdir -p ../out/gems && mv *.gem ../out/gems/ && cd .. && gem generate_index --quiet --directory out",
  );
  for (const [file, data] of files) await put(root, `gems/${file}`, data);
}

/** A CRAN-style repository: src/contrib with the source package and PACKAGES from tools::write_PACKAGES. */
async function cran(root: string): Promise<void> {
  const { name } = FIXTURES.cran;
  const files = await buildIn(
    "r",
    "r",
    `mv src ${name} && mkdir -p out/src/contrib && cd out/src/contrib && R CMD build --no-build-vignettes --no-manual ../../../${name} ` +
      `&& Rscript -e 'tools::write_PACKAGES(".", type = "source")'`,
  );
  for (const [file, data] of files) await put(root, `cran/${file}`, data);
}

/** A Maven repository: group/artifact/version/artifact-version.{jar,pom} (+ .sha1) and maven-metadata.xml. */
async function maven(root: string): Promise<void> {
  const { group, artifacts, version } = FIXTURES.maven;
  const [words, greeter] = artifacts;
  const files = await buildIn(
    "java",
    "maven",
    `javac -J-XX:-UsePerfData -d classes/${words} $(find src/${words} -name '*.java') && jar cf out/${words}.jar -C classes/${words} . ` +
      `&& javac -J-XX:-UsePerfData -cp out/${words}.jar -d classes/${greeter} $(find src/${greeter} -name '*.java') && jar cf out/${greeter}.jar -C classes/${greeter} .`,
  );
  const dependency = `<dependencies><dependency><groupId>${group}</groupId><artifactId>${words}</artifactId><version>${version}</version></dependency></dependencies>`;
  for (const artifact of artifacts) {
    const dir = `maven/${group.replace(/\./g, "/")}/${artifact}`;
    const pom = Buffer.from(
      `<?xml version="1.0" encoding="UTF-8"?>\n<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>` +
        `<groupId>${group}</groupId><artifactId>${artifact}</artifactId><version>${version}</version><packaging>jar</packaging>` +
        `${artifact === greeter ? dependency : ""}</project>\n`,
    );
    const jar = files.get(`${artifact}.jar`)!;
    for (const [file, data] of [[`${artifact}-${version}.jar`, jar], [`${artifact}-${version}.pom`, pom]] as const) {
      await put(root, `${dir}/${version}/${file}`, data);
      await put(root, `${dir}/${version}/${file}.sha1`, digest("sha1", data));
    }
    await put(
      root,
      `${dir}/maven-metadata.xml`,
      `<?xml version="1.0" encoding="UTF-8"?>\n<metadata><groupId>${group}</groupId><artifactId>${artifact}</artifactId>` +
        `<versioning><latest>${version}</latest><release>${version}</release><versions><version>${version}</version></versions></versioning></metadata>\n`,
    );
  }
}
