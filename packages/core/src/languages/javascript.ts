import { shellQuote } from "../internal/shell.js";
import { hiddenCodeFile, lastErrorLine, type LanguageHandler, type SandboxCommand, type SandboxContext } from "./handler.js";

/** npm installs into the workdir's node_modules, which Node resolves from the code file's directory. */
export function npmInstall(libraries: readonly string[], { packageIndexes }: SandboxContext): SandboxCommand {
  const registry = packageIndexes.npm ? ` --registry ${shellQuote(packageIndexes.npm)}` : "";
  return {
    script: `npm install --no-audit --no-fund --no-package-lock --no-update-notifier --loglevel=error${registry} -- ${libraries.map(shellQuote).join(" ")}`,
  };
}

export const parseNodeError = (stderr: string) =>
  lastErrorLine(stderr, /^(?:Uncaught\s+)?([A-Z][\w$]*(?:Error|Exception))(?::\s?(.*))?$/);

export const javascript: LanguageHandler = {
  name: "javascript",
  aliases: ["js", "node", "nodejs"],
  fileExtension: "js",
  imageDir: "node",
  preinstalledLibraries: [],
  codeFile: hiddenCodeFile("js"),
  runScript: () => `node "$SANDBOX_FILE"`,
  installCommand: npmInstall,
  parseError: parseNodeError,
};
