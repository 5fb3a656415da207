import { LibraryInstallationError, type PackageIndexes, type SupportedLanguage } from "@llm-sandbox/core";
import { describe, expect, inject, it } from "vitest";
import { withSession } from "../../../../test/helpers/sessions.js";
import { hostDebianMirrors } from "../images/base-image.js";

/**
 * Every language installs a library through `run(code, { libraries })` from a real package source and uses it:
 * the suite's local indexes (served from the host, reached over the install network only) and Debian's archive.
 */
const indexes = inject("packageIndexes");
const requestsUrl = inject("packageIndexRequests");
const requested = async () => (await (await fetch(requestsUrl)).json()) as string[];

interface LibraryCase {
  readonly lang: SupportedLanguage;
  readonly packageIndexes: PackageIndexes;
  readonly library: string;
  readonly code: string;
  readonly stdout: string;
  readonly missing: string;
}

const CASES: readonly LibraryCase[] = [
  {
    lang: "python",
    packageIndexes: { pip: indexes.pip },
    library: "llm-sandbox-fixture==1.0.0",
    code: "from llm_sandbox_fixture import greet\nprint(greet('you'))",
    stdout: "python fixture greets you\n",
    missing: "llm-sandbox-no-such-package",
  },
  {
    lang: "javascript",
    packageIndexes: { npm: indexes.npm },
    library: "llm-sandbox-fixture@1.0.0",
    code: "console.log(require('llm-sandbox-fixture').greet('you'))",
    stdout: "npm fixture greets you\n",
    missing: "llm-sandbox-no-such-package",
  },
  {
    lang: "typescript",
    packageIndexes: { npm: indexes.npm },
    library: "llm-sandbox-fixture",
    code: "import { greet } from 'llm-sandbox-fixture';\nconst who: string = 'you';\nconsole.log(greet(who));",
    stdout: "npm fixture greets you\n",
    missing: "llm-sandbox-no-such-package",
  },
  {
    lang: "java",
    packageIndexes: { maven: indexes.maven },
    // greeter depends on words: both must land on the classpath.
    library: "org.llmsandbox.fixture:greeter:1.0.0",
    code: 'import org.llmsandbox.fixture.greeter.Greeter;\npublic class Main { public static void main(String[] a) { System.out.println(Greeter.greet("you")); } }',
    stdout: "java fixture greets you\n",
    missing: "org.llmsandbox.fixture:no-such-artifact:1.0.0",
  },
  {
    lang: "go",
    packageIndexes: { go: indexes.go },
    library: "fixtures.llm-sandbox.test/greet@v1.0.0",
    code: 'package main\n\nimport (\n\t"fmt"\n\n\t"fixtures.llm-sandbox.test/greet"\n)\n\nfunc main() { fmt.Println(greet.Greet("you")) }',
    stdout: "go fixture greets you\n",
    missing: "fixtures.llm-sandbox.test/no-such-module@v1.0.0",
  },
  {
    lang: "ruby",
    packageIndexes: { rubygems: indexes.rubygems },
    library: "llm_sandbox_fixture",
    code: 'require "llm_sandbox_fixture"\nputs LlmSandboxFixture.greet("you")',
    stdout: "ruby fixture greets you\n",
    missing: "llm_sandbox_no_such_gem",
  },
  {
    lang: "r",
    packageIndexes: { cran: indexes.cran },
    library: "llmSandboxFixture",
    code: 'library(llmSandboxFixture)\ncat(greet("you"), "\\n", sep = "")',
    stdout: "r fixture greets you\n",
    missing: "llmSandboxNoSuchPackage",
  },
  {
    lang: "cpp",
    packageIndexes: {},
    // A compiled library: headers on the include path, the shared library linked and found at run time.
    library: "libfmt-dev",
    code: '#include <fmt/core.h>\nint main() { fmt::print("cpp {} greets {}\\n", "fixture", "you"); }',
    stdout: "cpp fixture greets you\n",
    missing: "llm-sandbox-no-such-package",
  },
  {
    lang: "bash",
    packageIndexes: { apt: hostDebianMirrors().archive },
    library: "hello",
    code: "hello --greeting='bash fixture greets you'",
    stdout: "bash fixture greets you\n",
    missing: "llm-sandbox-no-such-package",
  },
];

describe.each(CASES)("$lang libraries (real engine, real package sources)", ({ lang, packageIndexes, library, code, stdout, missing }) => {
  it(`installs ${library} through run(code, { libraries }) and uses it`, async () => {
    await withSession({ lang, packageIndexes }, async (session) => {
      const before = (await requested()).length;
      const result = await session.run(code, { libraries: [library] });
      expect(result.stderr).toBe("");
      expect(result).toMatchObject({ exitCode: 0, stdout });
      // Installing went to the local index (Debian's archive for apt); running it again does not install again.
      const after = (await requested()).length;
      if (!packageIndexes.apt && lang !== "cpp") expect(after).toBeGreaterThan(before);
      expect((await session.run(code, { libraries: [library] })).stdout).toBe(stdout);
      expect((await requested()).length).toBe(after);
    });
  });

  it(`fails loudly, naming a library that does not exist (${missing})`, async () => {
    await withSession({ lang, packageIndexes }, async (session) => {
      const error = await session.run(code, { libraries: [missing] }).catch((e: unknown) => e);
      expect(LibraryInstallationError.isInstance(error)).toBe(true);
      expect((error as LibraryInstallationError).libraries).toEqual([missing]);
      expect((error as LibraryInstallationError).message).toContain(missing);
      expect((error as LibraryInstallationError).exitCode).not.toBe(0);
    });
  });
});

describe("apt without root's powers (real engine)", () => {
  it("installs Debian packages also when the session runs as root, which has no capabilities either", async () => {
    await withSession({ lang: "cpp", runtimeConfigs: { user: "root" } }, async (session) => {
      const code = '#include <nlohmann/json.hpp>\n#include <iostream>\nint main() { std::cout << nlohmann::json{{"a", 1}}.dump() << "\\n"; }';
      const result = await session.run(code, { libraries: ["nlohmann-json3-dev"] });
      expect(result).toMatchObject({ exitCode: 0, stdout: '{"a":1}\n', stderr: "" });
    });
  });
});

describe("the package indexes and user code (real engine)", () => {
  it("user code cannot reach the index that installs reach (the install network is gone when code runs)", async () => {
    await withSession({ lang: "bash" }, async (session) => {
      const result = await session.run(`curl -sS -m 5 -o /dev/null ${indexes.npm}llm-sandbox-fixture && echo reached`);
      expect(result.exitCode).not.toBe(0);
      expect(result.stdout).toBe("");
      expect(result.stderr).toMatch(/Could not resolve host|Failed to connect|Network is unreachable|Couldn't connect/);
    });
  });
});
