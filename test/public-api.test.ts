import { existsSync, globSync, readFileSync } from "node:fs";
import { dirname, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import coreBuild from "../packages/core/tsup.config.ts";
import vitestConfig from "../vitest.config.ts";
import { entryExports, forgottenTypes, type PublicEntries } from "./helpers/public-api.ts";

const repo = fileURLToPath(new URL("..", import.meta.url));
const core = resolve(repo, "packages/core");
const packageJson = JSON.parse(readFileSync(resolve(core, "package.json"), "utf8")) as {
  exports: Record<string, string | Record<string, string>>;
};
const subpaths = Object.keys(packageJson.exports).filter((key) => key !== "./package.json");
/** `.` → `@llm-sandbox/core`, `./tool` → `@llm-sandbox/core/tool`. */
const specifier = (subpath: string) => `@llm-sandbox/core${subpath.slice(1)}`;
/** The build's entry name of a subpath: `.` → index, `./tool` → tool. */
const entryName = (subpath: string) => (subpath === "." ? "index" : subpath.slice(2));
const build = coreBuild as { entry: Record<string, string>; dts: { entry: Record<string, string> } };
const entries: PublicEntries = Object.fromEntries(subpaths.map((subpath) => [subpath, resolve(core, build.dts.entry[entryName(subpath)] ?? "")]));

/**
 * Which name lives where: the public API, reviewed here. Each name has one home; a name added to an entry (or moved)
 * is added here on purpose.
 */
const EXPECTED: Record<string, { values: string[]; types: string[] }> = {
  ".": {
    values: [
      "unregisterLanguageHandler",
      "MAX_TIMER_SECONDS",
      "SandboxContainer",
      "CapabilityUnavailableError", "egressPolicySchema",
      "ArchiveError", "ArtifactSandboxSession", "CommandEmptyError", "CommandFailedError", "ConsoleOutput", "ContainerError",
      "EncodingErrors", "EngineUnavailableError", "ExecutionResult", "ExhaustionStrategy", "FileAccessError", "FileNotFoundError",
      "FileType", "ImageBuildError", "ImageNotFoundError", "ImagePullError", "InteractiveSandboxSession", "InvalidRegexPatternError",
      "KernelDiedError", "KernelType", "LanguageHandlerNotInitializedError", "LanguageNotSupportPlotError", "LanguageNotSupportedError",
      "LibraryInstallationError", "LibraryInstallationNotSupportedError", "MIME_TYPES", "MicromambaSession", "MissingDependencyError",
      "NotOpenSessionError", "OutputDecodingError", "PackageManagerError", "PathTraversalError", "PermissionDeniedError", "PoolClosedError", "PoolExhaustedError",
      "PoolManager", "ResourceError", "RestrictedModule", "SECURITY_PRESETS", "SandboxAbortError", "SandboxBackend",
      "SandboxDockerSession", "SandboxError", "SandboxKubernetesSession", "SandboxPodmanSession", "SandboxSession",
      "SandboxTimeoutError", "SecurityError", "SecurityIssueSeverity", "SecurityPattern", "SecurityPolicy", "SecurityViolationError",
      "SupportedLanguage", "ToolCallError", "UnsupportedBackendError", "ValidationError", "createPoolManager", "createSession",
      "describeSecurityPreset", "describeViolations", "getLanguageHandler", "getSecurityPolicy", "listSecurityPresets", "plotLanguages",
      "plotMimeType", "registerLanguageHandler", "severityName", "supportedLanguages", "unsafeRuntimeSettings",
    ],
    types: [
      "KernelChoice", "PlotSupport", "WarmInterpreter",
      "EgressPolicy", "NetworkLogEntry", "ParsedEgressPolicy",
      "Executor", "ProgramRequest", "SessionInfo", "SessionLimits", "ContainerProcessRequest", "PrepareSettings", "LaunchRequest", "ProcessLauncher",
      "ProcessOutput", "ProcessRequest", "ProcessRunner", "ProgramRun", "ParsedSessionOptions",
      "ArtifactOptions", "ArtifactRunOptions", "ArtifactSessionOptions", "BackendSessionOptions", "ChartData", "ChartSeries",
      "CommandOptions", "CommandSpec", "ConsoleOutputInit", "ContainerLease", "ContainerSource", "ExecutionErrorInfo",
      "ExecutionResultInit", "InteractiveSessionOptions", "InteractiveSettings", "Interpolation", "KubeConfigLike", "LanguageHandler",
      "Logger", "PackageIndexes", "PartialOutput", "PlotOutput", "PoolConfig", "PoolManagerOptions", "PoolStats", "PooledContainerState",
      "PresetName", "Quote", "ResolvedInteractiveSettings", "ResolvedPoolConfig", "RestrictedModuleInit", "RunOptions", "RuntimeConfigs",
      "SandboxAccess", "SandboxCommand", "SandboxContext", "SecurityCheckResult", "SecurityPatternInit", "SecurityPolicyInit",
      "SecurityViolation", "SessionOptions", "SessionProcessRequest", "SeverityInput", "SeverityName", "StreamOptions", "Syntax", "SyntaxFeature",
      "UnsafeSetting",
    ],
  },
  "./tool": {
    values: [
      "DEFAULT_MODEL_OUTPUT_CHARS", "DEFAULT_TOOL_NAME", "defaultSessionFactory", "describeNetworkPolicy", "describeSandboxTool", "executeTool", "formatToolResult",
      "fromSession", "modelContent", "modelImages", "parseToolInput", "perCall", "persistent", "pooled", "sandboxToolDefinition",
      "streamTool", "summarizeResult", "toolCallError", "toolInputJsonSchema", "toolInputSchema", "toolResultSummarySchema",
      "truncateForModel", "deleteSandboxFile", "listSandboxDirectory", "statSandboxFile", "checkTimerSeconds",
    ],
    types: [
      "FileOperationOptions", "SandboxDirectoryEntry", "SandboxFileStat", "SandboxFileType",
      "ModelFormatOptions", "ModelImage", "PooledProviderOptions", "SandboxInfo", "SandboxToolDefinition", "SandboxToolOptions",
      "SessionFactory", "SessionProvider", "SessionProviderOptions", "ToolCallOptions", "ToolInput", "ToolInputSchema", "ToolProgress",
      "ToolResultSummary",
    ],
  },
  "./backends": {
    values: ["DockerBackend", "KubernetesBackend", "MICROMAMBA_IMAGE", "MicromambaBackend", "PodmanBackend", "engineClient", "podmanClient", "podmanHost"],
    types: ["AttachedContainer", "BackendAdapter", "ContainerSpec", "ExecOutcome", "ExecRequest", "KubernetesBackendOptions", "NetworkPolicy", "RelaySpec"],
  },
  "./setup": {
    values: [
      "buildDockerfile", "cleanupPods", "cleanupResources", "ensureEngine", "ensureGvisor", "ensureImages", "ensurePodman", "managedImageDirs",
      "managedImageName", "prepareImage",
    ],
    types: [
      "CleanupOptions", "CleanupReport", "EnsureImagesOptions", "EnsuredImage", "GvisorRuntimeCheck", "GvisorSetupReport", "ImageBuildOptions", "ImageProgressEvent",
      "ImageProgressListener", "KubeConnectOptions", "SweptResource",
    ],
  },
};

/**
 * Types a public signature names that no entry exports yet, each with why it is left so. The test fails when a new
 * one appears and when one of these is exported or no longer named (then it leaves this list).
 */
const KNOWN_FORGOTTEN = [
  // A handler's scanner and preset rules speak the scanner's internal token kit; custom handlers leave them out (their
  // code is then read for comments and literals only) until that kit is a stable API.
  "LanguageScanner <- LanguageHandler",
  "LanguagePresetRules <- LanguageHandler",
  // A public method of SecurityPattern takes the scanner's result; the scanner stays internal (issue 12, deliverable 3).
  "CodeScan <- SecurityPattern",
  // A container's egress (its proxy and relay) is machinery: users reach it through setNetworkPolicy and networkLog.
  "ContainerEgress <- SandboxContainer",
  // Structural `this` type of isInstance: nobody names it.
  "ErrorClass <- SandboxError",
];

describe("public API by subpath", () => {
  const exported = entryExports(entries);

  it("each entry exports exactly the names it promises, values and types", () => {
    expect(Object.keys(exported).sort()).toEqual(Object.keys(EXPECTED).sort());
    for (const [subpath, names] of Object.entries(exported)) {
      expect({ subpath, ...names }).toEqual({ subpath, values: EXPECTED[subpath]!.values.sort(), types: EXPECTED[subpath]!.types.sort() });
    }
  });

  it("every name has one home: no two entries export it", () => {
    const homes = new Map<string, string[]>();
    for (const [subpath, { values, types }] of Object.entries(exported)) {
      for (const name of [...values, ...types]) homes.set(name, [...(homes.get(name) ?? []), subpath]);
    }
    expect([...homes].filter(([, where]) => where.length > 1)).toEqual([]);
  });

  it("each subpath loads under its public name, with the promised values at run time", async () => {
    const loaded = {
      ".": await import("@llm-sandbox/core"),
      "./tool": await import("@llm-sandbox/core/tool"),
      "./backends": await import("@llm-sandbox/core/backends"),
      "./setup": await import("@llm-sandbox/core/setup"),
    };
    expect(Object.keys(loaded).sort()).toEqual(subpaths.sort());
    for (const [subpath, module] of Object.entries(loaded)) {
      expect({ subpath, values: Object.keys(module).sort() }).toEqual({ subpath, values: EXPECTED[subpath]!.values.sort() });
    }
    // One copy of each module behind all subpaths: what the tool kit throws is the top level's class.
    const tool = loaded["./tool"];
    expect(() => tool.parseToolInput({}, ["python"])).toThrow(loaded["."].SandboxError);
  });

  it("the top level installs nothing and starts no daemon: installers, the image builder and backends are elsewhere", async () => {
    const top = Object.keys(await import("@llm-sandbox/core"));
    const elsewhere = ["ensureEngine", "ensureGvisor", "ensurePodman", "ensureImages", "buildDockerfile", "prepareImage", "cleanupResources", "cleanupPods"];
    const backends = ["DockerBackend", "PodmanBackend", "KubernetesBackend", "MicromambaBackend", "engineClient", "podmanClient"];
    const scanner = ["scanCode"];
    expect(top.filter((name) => [...elsewhere, ...backends, ...scanner].includes(name))).toEqual([]);
  });

  it("a type that a public signature names is exported by some entry", () => {
    expect(forgottenTypes(entries).sort()).toEqual(KNOWN_FORGOTTEN.sort());
  });
});

describe("package layout", () => {
  it("package.json exports one built entry per subpath, with its declarations", () => {
    expect(subpaths.sort()).toEqual([".", "./backends", "./setup", "./tool"]);
    for (const subpath of subpaths) {
      const name = entryName(subpath);
      expect(packageJson.exports[subpath]).toEqual({ types: `./dist/${name}.d.ts`, import: `./dist/${name}.js`, default: `./dist/${name}.js` });
      expect(build.entry[name], `tsup builds ${name} from the same file it declares`).toBe(build.dts.entry[name]);
    }
    expect(Object.keys(build.dts.entry).sort()).toEqual(subpaths.map(entryName).sort());
    // The CLI is built but not importable: its bin shim loads it.
    expect(Object.keys(build.entry).sort()).toEqual([...subpaths.map(entryName), "cli"].sort());
    expect(readFileSync(resolve(core, "bin/llm-sandbox.js"), "utf8")).toContain('import "../dist/cli.js"');
  });

  it("tsconfig paths and vitest aliases resolve each subpath to the file the build starts from", () => {
    const tsconfig = JSON.parse(readFileSync(resolve(repo, "tsconfig.json"), "utf8")) as { compilerOptions: { paths: Record<string, string[]> } };
    const aliases = vitestConfig.resolve?.alias as Array<{ find: RegExp; replacement: string }>;
    for (const subpath of subpaths) {
      const source = entries[subpath];
      const paths = tsconfig.compilerOptions.paths[specifier(subpath)] ?? [];
      expect(paths.map((path) => resolve(repo, path)), `tsconfig paths of ${specifier(subpath)}`).toEqual([source]);
      const alias = aliases.find(({ find }) => find.test(specifier(subpath)));
      expect(alias?.replacement, `vitest alias of ${specifier(subpath)}`).toBe(source);
    }
  });
});

describe("who imports core how", () => {
  const publicSpecifiers = subpaths.map(specifier);
  /** Every module specifier of a file: static imports, re-exports and dynamic import(). */
  const specifiersOf = (file: string) => ts.preProcessFile(readFileSync(file, "utf8"), true, true).importedFiles.map(({ fileName }) => fileName);
  /** The folder of the package a file belongs to (its nearest package.json). */
  const packageOf = (file: string): string => (existsSync(resolve(dirname(file), "package.json")) ? dirname(file) : packageOf(dirname(file)));
  /** A path into one of packages/* other than the importer's own: core's sources, or another adapter's. */
  const reachesAnotherPackage = (from: string, target: string) =>
    !relative(resolve(repo, "packages"), target).startsWith("..") && packageOf(target) !== packageOf(from);

  it.each(["packages/langchain/src", "packages/ai-sdk/src", "packages/openai/src", "packages/mcp/src", "examples", "bench"])(
    "%s reaches core only through its public subpaths",
    (folder) => {
      const root = resolve(repo, folder);
      const files = globSync("**/*.ts", { cwd: root, exclude: (name) => /(^|[\\/])(node_modules|dist)$/.test(name) }).map((file) => resolve(root, file));
      expect(files.length).toBeGreaterThan(0);
      const offending = files.flatMap((file) =>
        specifiersOf(file)
          .filter((spec) =>
            spec.startsWith("@llm-sandbox/core")
              ? !publicSpecifiers.includes(spec)
              : // No relative path into core's (or another published package's) files; the shared test helpers are fine.
                spec.startsWith(".") && reachesAnotherPackage(file, resolve(dirname(file), spec)),
          )
          .map((spec) => `${relative(repo, file)}: ${spec}`),
      );
      expect(offending).toEqual([]);
    },
  );
});
