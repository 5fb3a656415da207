import { hiddenCodeFile, type LanguageHandler } from "./handler.js";
import { npmInstall, parseNodeError } from "./javascript.js";

/** Node ≥ 22.18 runs TypeScript itself; transform-types also covers enums and namespaces, not just annotations. */
export const typescript: LanguageHandler = {
  name: "typescript",
  aliases: ["ts"],
  fileExtension: "ts",
  imageDir: "node",
  preinstalledLibraries: [],
  codeFile: hiddenCodeFile("ts"),
  runScript: () => `node --experimental-transform-types --disable-warning=ExperimentalWarning "$SANDBOX_FILE"`,
  installCommand: npmInstall,
  parseError: parseNodeError,
};
