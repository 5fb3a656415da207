import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

let root: string | undefined;

/**
 * The directory of @llm-sandbox/core's package.json. Source (tests) and the bundled dist sit at different depths,
 * so non-code files (Dockerfiles, in-sandbox scripts) are found from the package root rather than relative paths.
 */
export function corePackageRoot(): string {
  if (root) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json")) || !existsSync(join(dir, "images"))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error("cannot locate the @llm-sandbox/core package root");
    dir = parent;
  }
  root = dir;
  return dir;
}

export const packageFile = (...parts: string[]): string => join(corePackageRoot(), ...parts);

const contents = new Map<string, Promise<Buffer>>();

/** A file of the package (an in-sandbox script), read once per process. */
export function readPackageFile(...parts: string[]): Promise<Buffer> {
  const path = packageFile(...parts);
  let content = contents.get(path);
  if (!content) {
    content = readFile(path);
    content.catch(() => contents.delete(path));
    contents.set(path, content);
  }
  return content;
}
