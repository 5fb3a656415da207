import { aptEnvironment, aptInstall } from "./apt.js";
import { HASH_COMMENTS, hiddenCodeFile, type LanguageHandler } from "./handler.js";

/** Bash scripts; libraries are Debian packages whose programs land on PATH (e.g. `libraries: ["hello"]`). */
export const bash: LanguageHandler = {
  name: "bash",
  aliases: ["sh", "shell"],
  fileExtension: "sh",
  imageDir: "bash",
  preinstalledLibraries: ["jq", "bc", "gawk", "file", "curl", "zip", "unzip", "xz-utils"],
  comments: HASH_COMMENTS,
  codeFile: hiddenCodeFile("sh"),
  runScript: ({ workdir }) => `${aptEnvironment(workdir)}
bash "$SANDBOX_FILE"`,
  installCommand: aptInstall,
};
