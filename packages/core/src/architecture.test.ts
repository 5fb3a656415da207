import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

/**
 * The layout the README's "Architecture" section draws, checked: which folder of core may import which, no import
 * circles between files (type-only imports count: they are how contracts leak into the wrong room), and no source
 * file over ~400 lines without a stated reason.
 */
const root = dirname(fileURLToPath(import.meta.url));

/** Folder → the folders (and top-level modules) it may import. Keep in step with the README. */
const MAY_IMPORT: Readonly<Record<string, readonly string[]>> = {
  enums: [],
  errors: [],
  result: ["enums"],
  internal: ["enums", "errors"],
  languages: ["enums", "errors", "internal", "result"],
  security: ["enums", "errors", "internal", "languages"],
  backends: ["enums", "errors", "images", "internal"],
  images: ["backends", "errors", "host", "internal"],
  host: ["backends", "errors", "internal"],
  container: ["backends", "enums", "errors", "internal", "languages", "result"],
  session: ["backends", "container", "enums", "errors", "images", "internal", "languages", "result", "security"],
  interactive: ["backends", "container", "enums", "errors", "internal", "languages", "result", "session"],
  artifacts: ["container", "enums", "errors", "interactive", "internal", "languages", "result", "session"],
  pool: ["backends", "container", "enums", "errors", "interactive", "internal", "languages", "session"],
  network: ["errors", "internal"],
  tool: ["artifacts", "container", "enums", "errors", "internal", "languages", "result", "session"],
};

/** Files allowed past the size limit, with the reason. */
const LONG_FILES: Readonly<Record<string, string>> = {};
const MAX_LINES = 420;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith(".ts") && !entry.name.endsWith(".test.ts") ? [path] : [];
  });
}

const IMPORT = /^\s*(?:import|export)\b[^"';]*?\bfrom\s+["'](\.[^"']+)["']|^\s*import\s+["'](\.[^"']+)["']/gm;

function importsOf(file: string): string[] {
  const source = readFileSync(file, "utf8");
  return [...source.matchAll(IMPORT)].map((match) => resolve(dirname(file), (match[1] ?? match[2])!).replace(/\.js$/, ".ts"));
}

/** The top-level folder (or module) of a file under src/. */
const room = (file: string) => relative(root, file).split("/")[0]!.replace(/\.ts$/, "");

const files = sourceFiles(root);
const graph = new Map(files.map((file) => [file, importsOf(file).filter((target) => target.startsWith(root))]));

/** Strongly connected components of more than one file (Tarjan). */
function circles(): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const found: string[][] = [];
  const visit = (file: string) => {
    index.set(file, counter);
    low.set(file, counter++);
    stack.push(file);
    for (const next of graph.get(file) ?? []) {
      if (!graph.has(next)) continue;
      if (!index.has(next)) {
        visit(next);
        low.set(file, Math.min(low.get(file)!, low.get(next)!));
      } else if (stack.includes(next)) low.set(file, Math.min(low.get(file)!, index.get(next)!));
    }
    if (low.get(file) !== index.get(file)) return;
    const component: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      component.push(relative(root, member));
    } while (member !== file);
    if (component.length > 1) found.push(component.sort());
  };
  for (const file of files) if (!index.has(file)) visit(file);
  return found;
}

describe("core's architecture", () => {
  it("reads every source file's imports (the check below sees the real graph)", () => {
    expect(files.length).toBeGreaterThan(50);
    expect(graph.get(join(root, "session/session.ts"))).toContain(join(root, "container/sandbox-container.ts"));
  });

  it("has no import circles between files", () => {
    expect(circles()).toEqual([]);
  });

  it("imports across folders only as the README's architecture allows", () => {
    const entries = new Set(["index", "setup", "cli"]);
    const wrong: string[] = [];
    for (const [file, targets] of graph) {
      const from = room(file);
      if (entries.has(from)) continue;
      const allowed = MAY_IMPORT[from];
      if (!allowed) {
        wrong.push(`${relative(root, file)}: folder "${from}" is not in the architecture`);
        continue;
      }
      for (const target of targets) {
        const to = room(target);
        if (to !== from && !allowed.includes(to)) wrong.push(`${relative(root, file)} imports ${relative(root, target)} (${from} → ${to})`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it("keeps source files under ~400 lines unless a reason is stated", () => {
    const long = files
      .map((file) => ({ file: relative(root, file), lines: readFileSync(file, "utf8").split("\n").length }))
      .filter(({ file, lines }) => lines > MAX_LINES && !(file in LONG_FILES))
      .map(({ file, lines }) => `${file}: ${lines} lines`);
    expect(long).toEqual([]);
  });
});
