import type { TestProject } from "vitest/node";
import type { PackageIndexes } from "../../packages/core/src/index.js";
import { buildPackageIndexes } from "./build.js";
import { startIndexServer } from "./server.js";

declare module "vitest" {
  export interface ProvidedContext {
    /** The local indexes, by URLs that sandboxes reach (the host as host.docker.internal). */
    packageIndexes: Required<Omit<PackageIndexes, "apt">>;
    /** Where the tests (on the host) read the paths the indexes were asked for. */
    packageIndexRequests: string;
  }
}

/** Builds the fixture packages (once; cached) and serves them for the suite; stops the server at the end. */
export default async function setup(project: TestProject) {
  const root = await buildPackageIndexes((line) => process.stderr.write(`[package-indexes] ${line}\n`));
  const server = await startIndexServer(root);
  const base = `http://host.docker.internal:${server.port}`;
  project.provide("packageIndexes", {
    pip: `${base}/pypi/simple/`,
    npm: `${base}/npm/`,
    go: `${base}/go`,
    rubygems: `${base}/gems/`,
    cran: `${base}/cran`,
    maven: `${base}/maven/`,
  });
  project.provide("packageIndexRequests", `http://127.0.0.1:${server.port}/__requests`);
  return () => server.close();
}
