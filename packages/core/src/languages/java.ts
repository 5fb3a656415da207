import { ValidationError } from "../errors.js";
import { shellQuote } from "../internal/shell.js";
import { compileAndRun, firstErrorMatch, hiddenCodeFile, type LanguageHandler, type SandboxContext } from "./handler.js";
import type { LanguagePresetRules } from "./preset-rules.js";
import { type Extractor } from "./scanning.js";
import { C_COMMENTS, DOLLAR_IDENTIFIER, features, quote } from "./syntax.js";
import { dottedName } from "./tokens.js";

/** Jars of the session's libraries (with their dependencies): all of them are on the classpath. */
export const javaLibraryDir = (workdir: string) => `${workdir}/.sandbox-java/lib`;

const MAVEN_CENTRAL = "https://repo.maven.apache.org/maven2/";
/** JIT and perf-data settings that make the short-lived compiler JVM start faster. */
const JAVAC = "javac -J-XX:TieredStopAtLevel=1 -J-XX:-UsePerfData -encoding UTF-8 -XDsuppressNotes";
const NAME = "[A-Za-z_$][A-Za-z0-9_$]*";
const TYPE = `(class|interface|enum|record)[[:space:]]+${NAME}`;

/**
 * Like Java's single-file launch (`java Anything.java`): the code is one file, and its public class may have any
 * name. Unlike the launcher, the class holding `main` need not come first: the file is compiled under its public
 * class's name, and the class run is the public one if it has `main`, else the first declared class that has one
 * (read from the class files). The compiled classes are kept, so the same code runs again without javac.
 */
const build = (libs: string) => `pkg=$(sed -n 's/^[[:space:]]*package[[:space:]]\\{1,\\}\\([A-Za-z0-9_.]\\{1,\\}\\)[[:space:]]*;.*/\\1/p' "$SANDBOX_FILE" | head -n 1)
  public=$({ grep -oE '^public([[:space:]]+[a-z]+)*[[:space:]]+${TYPE}' "$SANDBOX_FILE"; grep -oE '^[[:space:]]*public([[:space:]]+[a-z]+)*[[:space:]]+${TYPE}' "$SANDBOX_FILE"; } | head -n 1 | awk '{ print $NF }')
  mkdir -p "$SANDBOX_BUILD" && cp "$SANDBOX_FILE" "$SANDBOX_BUILD/\${public:-Main}.java" &&
  (cd "$SANDBOX_BUILD" && ${JAVAC} -cp ${shellQuote(`${libs}/*`)} -d . "\${public:-Main}.java") &&
  classes="$SANDBOX_BUILD/$(echo "$pkg" | tr . /)" && main= &&
  for type in $public $(grep -oE '${TYPE}' "$SANDBOX_FILE" | awk '{ print $2 }'); do
    f="$classes/$type.class"
    if [ -f "$f" ] && grep -q main "$f" && grep -q '(\\[Ljava/lang/String;)V' "$f"; then main=$type; break; fi
  done &&
  echo "\${pkg:+$pkg.}\${main:-\${public:-Main}}" > "$SANDBOX_BUILD/.main-class"`;

/** Maven coordinates `group:artifact[:version]` (no version: the latest release). */
const COORDINATES = /^([A-Za-z0-9_.-]+):([A-Za-z0-9_.-]+)(?::([A-Za-z0-9_.+\-[\](),]+))?$/;

/**
 * Apache Ivy resolves the coordinates and their dependencies (Maven POMs) from the Maven repository (default
 * Maven Central) and copies the jars into the session's library directory. Its cache is under /tmp.
 */
function ivyInstall(libraries: readonly string[], { workdir, packageIndexes }: SandboxContext) {
  const dependencies = libraries.map((library) => {
    const match = COORDINATES.exec(library);
    if (!match) {
      throw new ValidationError(`Java libraries are Maven coordinates group:artifact[:version], not ${JSON.stringify(library)}`);
    }
    const [, group, artifact, version = "latest.release"] = match;
    return `<dependency org="${group}" name="${artifact}" rev="${version}" conf="default->default"/>`;
  });
  const repository = packageIndexes.maven ?? MAVEN_CENTRAL;
  const root = repository.endsWith("/") ? repository : `${repository}/`;
  const settings = `<ivysettings><settings defaultResolver="maven"/><resolvers><ibiblio name="maven" m2compatible="true" root="${xmlAttribute(root)}"/></resolvers></ivysettings>`;
  const ivy = `<ivy-module version="2.0"><info organisation="llm-sandbox" module="session"/><dependencies>${dependencies.join("")}</dependencies></ivy-module>`;
  const lib = javaLibraryDir(workdir);
  return {
    script: `set -e
ivy=/tmp/.sandbox-ivy; mkdir -p "$ivy" ${shellQuote(lib)}
printf '%s\\n' ${shellQuote(settings)} > "$ivy/settings.xml"
printf '%s\\n' ${shellQuote(ivy)} > "$ivy/ivy.xml"
java -XX:TieredStopAtLevel=1 -XX:-UsePerfData -jar "\${IVY_JAR:-/usr/share/java/ivy.jar}" -settings "$ivy/settings.xml" -ivy "$ivy/ivy.xml" \\
  -cache "$ivy/cache" -confs default -retrieve ${shellQuote(`${lib}/[organisation]-[artifact]-[revision](-[classifier]).[ext]`)}`,
  };
}

const xmlAttribute = (text: string) => text.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;");

/** A javac error (the first), or the uncaught exception of the main thread. */
export const parseJavaError = (stderr: string) =>
  firstErrorMatch(stderr, [
    [/^\S+\.java:\d+: error: (?<message>.*)$/m, "CompileError"],
    [/^Exception in thread "[^"]*" (?<name>[\w.$]+)(?:: (?<message>.*))?$/m],
  ]);

// ── What the security scanner reads ───────────────────────────────────────────────────────────────────────────

const extract: Extractor = (tokens, out) => {
  const wildcardPackages = ["java.lang"];
  const singleImports = new Set<string>();
  const declared = new Set<string>();
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens.at(i)!;
    if (token.kind !== "word") continue;
    if (token.text === "import" && !tokens.afterDot(i)) {
      let j = tokens.next(i);
      if (tokens.isWord(j, "static")) j = tokens.next(j);
      const name = dottedName(tokens, j);
      if (!name) continue;
      out.module(name.name, token);
      if (tokens.isPunct(name.end, ".") && tokens.isPunct(name.end + 1, "*")) wildcardPackages.push(name.name);
      else singleImports.add(name.name.split(".").at(-1)!);
      i = name.end;
    } else if (["class", "interface", "enum", "record"].includes(token.text) && tokens.isWord(tokens.next(i))) {
      declared.add(tokens.at(tokens.next(i))!.text);
    } else if (["forName", "loadClass", "findClass", "findSystemClass"].includes(token.text) && tokens.isPunct(tokens.next(i), "(")) {
      out.importCall(tokens, i, `${token.text}()`);
    }
  }
  // Fully qualified uses (`java.lang.Runtime.getRuntime()`) and simple names resolved through `java.lang` and `.*` imports.
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens.at(i)!;
    if (token.kind !== "word" || tokens.afterDot(i)) continue;
    if (tokens.isPunct(i + 1, ".") && tokens.isWord(i + 2) && /^[a-z]/.test(token.text)) {
      out.module(dottedName(tokens, i)!.name, token);
    } else if (/^[A-Z]/.test(token.text) && !singleImports.has(token.text) && !declared.has(token.text)) {
      for (const pkg of wildcardPackages) out.module(`${pkg}.${token.text}`, token);
    }
  }
};

// ── The security presets' rules ───────────────────────────────────────────────────────────────────────────────

const presetRules: LanguagePresetRules = {
  capabilities: {
    shell: { modules: ["java.lang.Runtime", "java.lang.ProcessBuilder", "java.lang.ProcessHandle"] },
    native: { modules: ["java.lang.foreign", "sun.misc", "jdk.internal"], patterns: ["\\bSystem\\s*\\.\\s*(?:loadLibrary|load)\\s*\\("] },
    destructive: { patterns: ["\\bFiles\\s*\\.\\s*(?:delete|deleteIfExists)\\s*\\(", "\\.\\s*delete(?:OnExit)?\\s*\\(\\s*\\)"] },
    http: { modules: ["java.net.http", "java.net.URL", "java.net.URLConnection", "java.net.HttpURLConnection"] },
    sockets: {
      modules: [
        "java.net.Socket", "java.net.ServerSocket", "java.net.DatagramSocket", "java.net.MulticastSocket",
        "java.nio.channels.SocketChannel", "java.nio.channels.ServerSocketChannel", "java.nio.channels.DatagramChannel", "javax.net",
      ],
    },
    env: { patterns: ["\\bSystem\\s*\\.\\s*getenv\\s*\\("] },
    eval: { modules: ["javax.script", "jdk.jshell", "javax.tools"] },
    fileWrite: {
      patterns: [
        "\\bnew\\s+(?:FileOutputStream|FileWriter|RandomAccessFile)\\b",
        "\\bFiles\\s*\\.\\s*(?:write|writeString|newOutputStream|newBufferedWriter|createFile|copy|move)\\s*\\(",
      ],
    },
    serialization: { modules: ["java.io.ObjectInputStream"] },
    introspection: { modules: ["java.lang.reflect", "java.lang.invoke"], patterns: ["\\.\\s*setAccessible\\s*\\("] },
  },
};

export const java: LanguageHandler<"java"> = {
  name: "java",
  aliases: [],
  fileExtension: "java",
  imageDir: "java",
  preinstalledLibraries: [],
  syntax: {
    ...C_COMMENTS,
    quotes: [quote('"""', { multiline: true }), quote('"'), quote("'")],
    word: DOLLAR_IDENTIFIER,
    features: features("unicode-translation"),
  },
  codeFile: hiddenCodeFile("java"),
  runScript: ({ workdir }) => {
    const libs = javaLibraryDir(workdir);
    return compileAndRun({
      cache: "java",
      keyInputs: `ls ${shellQuote(libs)} 2>/dev/null`,
      build: build(libs),
      run: `java -XX:-UsePerfData -cp "$SANDBOX_BUILD":${shellQuote(`${libs}/*`)} "$(cat "$SANDBOX_BUILD/.main-class")"`,
    });
  },
  installCommand: ivyInstall,
  parseError: parseJavaError,
  scanner: { extract, modules: { separator: "." } },
  presetRules,
};
