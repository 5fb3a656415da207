import { hiddenCodeFile, type LanguageHandler } from "./handler.js";
import { javascriptSyntax, NO_TYPELESS_WARNING, npmInstall, parseNodeError } from "./javascript.js";

/** `node` flags of a TypeScript run (a pooled container's warm runner starts node with the same). */
export const TYPESCRIPT_NODE_FLAGS: readonly string[] = ["--experimental-transform-types", "--disable-warning=ExperimentalWarning", NO_TYPELESS_WARNING];

/** Node ≥ 22.18 runs TypeScript itself; transform-types also covers enums and namespaces, not just annotations. */
export const typescript: LanguageHandler = {
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
};
