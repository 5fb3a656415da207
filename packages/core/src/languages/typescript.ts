import { hiddenCodeFile, type LanguageHandler } from "./handler.js";
import { javascriptScanner, javascriptSyntax, NO_TYPELESS_WARNING, npmInstall, parseNodeError } from "./javascript.js";

/** `node` flags of a TypeScript run (a pooled container's warm runner starts node with the same). */
export const TYPESCRIPT_NODE_FLAGS: readonly string[] = ["--experimental-transform-types", "--disable-warning=ExperimentalWarning", NO_TYPELESS_WARNING];

/** Node ≥ 22.18 runs TypeScript itself; transform-types also covers enums and namespaces, not just annotations. */
export const typescript: LanguageHandler<"typescript"> = {
  name: "typescript",
  aliases: ["ts"],
  fileExtension: "ts",
  imageDir: "node",
  preinstalledLibraries: [],
  syntax: javascriptSyntax,
  codeFile: hiddenCodeFile("ts"),
  runScript: () => `node ${TYPESCRIPT_NODE_FLAGS.join(" ")} "$SANDBOX_FILE"`,
  installCommand: npmInstall,
  parseError: parseNodeError,
  // JavaScript with types: JavaScript's security rules cover it, and its imports read the same.
  dialectOf: "javascript",
  scanner: javascriptScanner,
  warm: { runner: "node-spare", defaultModules: [], flags: TYPESCRIPT_NODE_FLAGS },
  kernel: { kind: "node", config: { typescript: true } },
};
