import { shellJoin, shellQuote } from "../internal/shell.js";
import { hiddenCodeFile, lastErrorLine, type LanguageHandler, type SandboxCommand, type SandboxContext } from "./handler.js";
import { C_COMMENTS, DOLLAR_IDENTIFIER, features, quote, type Syntax } from "./syntax.js";

/** Also TypeScript's: type syntax adds no comment or literal forms. */
export const javascriptSyntax: Syntax = {
  ...C_COMMENTS,
  quotes: [quote("'"), quote('"'), quote("`", { multiline: true, interpolation: "dollar-brace" })],
  word: DOLLAR_IDENTIFIER,
  features: features("hashbang", "regex-literals", "identifier-escapes"),
};

/** npm installs into the workdir's node_modules, which Node resolves from the code file's directory. */
export function npmInstall(libraries: readonly string[], { packageIndexes }: SandboxContext): SandboxCommand {
  const registry = packageIndexes.npm ? ` --registry ${shellQuote(packageIndexes.npm)}` : "";
  return {
    script: `npm install --no-audit --no-fund --no-package-lock --no-update-notifier --loglevel=error${registry} -- ${shellJoin(libraries)}`,
  };
}

/**
 * npm install writes a package.json without "type" into the workdir; Node then warns about every program using
 * import syntax (which it runs as a module all the same).
 */
export const NO_TYPELESS_WARNING = "--disable-warning=MODULE_TYPELESS_PACKAGE_JSON";

/** `node` flags of a JavaScript run (a pooled container's warm runner starts node with the same). */
export const JAVASCRIPT_NODE_FLAGS: readonly string[] = [NO_TYPELESS_WARNING];

export const parseNodeError = (stderr: string) =>
  lastErrorLine(stderr, /^(?:Uncaught\s+)?([A-Z][\w$]*(?:Error|Exception))(?::\s?(.*))?$/);

export const javascript: LanguageHandler = {
  name: "javascript",
  aliases: ["js", "node", "nodejs"],
  fileExtension: "js",
  imageDir: "node",
  preinstalledLibraries: [],
  syntax: javascriptSyntax,
  codeFile: hiddenCodeFile("js"),
  runScript: () => `node ${JAVASCRIPT_NODE_FLAGS.join(" ")} "$SANDBOX_FILE"`,
  installCommand: npmInstall,
  parseError: parseNodeError,
};
