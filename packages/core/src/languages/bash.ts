import { aptEnvironment, aptInstall } from "./apt.js";
import { hiddenCodeFile, type LanguageHandler } from "./handler.js";
import { features, HASH_COMMENTS, quote } from "./syntax.js";

/** Bash scripts; libraries are Debian packages whose programs land on PATH (e.g. `libraries: ["hello"]`). */
export const bash: LanguageHandler = {
  name: "bash",
  aliases: ["sh", "shell"],
  fileExtension: "sh",
  imageDir: "bash",
  preinstalledLibraries: ["jq", "bc", "gawk", "file", "curl", "zip", "unzip", "xz-utils"],
  syntax: {
    ...HASH_COMMENTS,
    quotes: [quote("'", { escapes: false, decode: false, multiline: true }), quote('"', { multiline: true, interpolation: "shell" })],
    word: /[^\s|&;()<>'"`$\\]/u,
    features: features("shell"),
  },
  codeFile: hiddenCodeFile("sh"),
  runScript: ({ workdir }) => `${aptEnvironment(workdir)}
bash "$SANDBOX_FILE"`,
  installCommand: aptInstall,
};
