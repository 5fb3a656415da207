import { shellJoin, shellQuote } from "../internal/shell.js";
import { firstErrorMatch, hiddenCodeFile, type LanguageHandler } from "./handler.js";
import { features, HASH_COMMENTS, IDENTIFIER, quote } from "./syntax.js";

/** Gems of the session: GEM_HOME in the workdir; the image's gems stay visible through Ruby's default paths. */
export const gemHome = (workdir: string) => `${workdir}/.sandbox-gems`;

const withGems = (workdir: string) =>
  `GEM_HOME=${shellQuote(gemHome(workdir))} PATH=${shellQuote(`${gemHome(workdir)}/bin`)}:"$PATH"`;

/** An uncaught exception ("file:line:in `method': message (ErrorClass)"), or a syntax error. */
export const parseRubyError = (stderr: string) =>
  firstErrorMatch(stderr, [
    [/^\S+:\d+:in `[^']*': (?<message>.*) \((?<name>[A-Z][\w:]*)\)$/m],
    [/^\S+:\d+: (?<message>syntax error.*)$/m, "SyntaxError"],
  ]);

/** Libraries are gems: `name` or `name:version` (e.g. "rainbow:3.1.1"), from RubyGems.org or `packageIndexes.rubygems`. */
export const ruby: LanguageHandler = {
  name: "ruby",
  aliases: ["rb"],
  fileExtension: "rb",
  imageDir: "ruby",
  preinstalledLibraries: ["json", "bigdecimal", "csv", "set", "date"],
  syntax: {
    ...HASH_COMMENTS,
    quotes: [
      quote('"', { multiline: true, interpolation: "hash-brace" }),
      quote("'", { multiline: true }),
      quote("`", { multiline: true, interpolation: "hash-brace" }),
    ],
    word: IDENTIFIER,
    features: features("ruby", "regex-literals"),
  },
  codeFile: hiddenCodeFile("rb"),
  runScript: ({ workdir }) => `${withGems(workdir)} ruby "$SANDBOX_FILE"`,
  installCommand: (libraries, { workdir, packageIndexes }) => ({
    script: `${withGems(workdir)} gem install --no-document --no-user-install${
      packageIndexes.rubygems ? ` --clear-sources --source ${shellQuote(packageIndexes.rubygems)}` : ""
    } ${shellJoin(libraries)}`,
  }),
  parseError: parseRubyError,
};
