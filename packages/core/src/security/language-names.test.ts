import { afterEach, describe, expect, it } from "vitest";
import { LanguageNotSupportedError } from "../errors.js";
import type { LanguageHandler } from "../languages/handler.js";
import { javascript } from "../languages/javascript.js";
import { languageHandlers, registerLanguageHandler, unregisterLanguageHandler } from "../languages/registry.js";
import { C_COMMENTS, features, IDENTIFIER, quote } from "../languages/syntax.js";
import { createSession } from "../session/create-session.js";
import { RestrictedModule, SecurityIssueSeverity, SecurityPolicy } from "./policy.js";
import { getSecurityPolicy, listSecurityPresets } from "./presets.js";

// Sessions that are never opened: creating one only resolves its options.

const { HIGH } = SecurityIssueSeverity;

/** The canonical language a session created with `lang` runs, or the error it refuses it with. */
function sessionLanguage(lang: string): string | Error {
  try {
    return createSession({ lang }).language.name;
  } catch (error) {
    return error as Error;
  }
}

/** The canonical language a policy reads `language` as, or the error it refuses it with. */
function policyLanguage(language: string): string | Error {
  try {
    new SecurityPolicy().check("x", language);
    return new RestrictedModule({ name: "x", severity: HIGH, languages: [language] }).languages![0]!;
  } catch (error) {
    return error as Error;
  }
}

const names = () => languageHandlers().flatMap((handler) => [handler.name, ...handler.aliases]);

describe("language names: the registry is the one resolver", () => {
  it("a security policy accepts exactly the names and aliases sessions accept, as the same language", () => {
    const accepted = names().flatMap((name) => [name, name.toUpperCase(), ` ${name} `]);
    expect(accepted).toEqual(expect.arrayContaining(["nodejs", "cxx", "rscript", "golang", "c++", "sh"]));
    for (const name of accepted) {
      const language = sessionLanguage(name);
      expect(typeof language, `createSession({ lang: ${JSON.stringify(name)} })`).toBe("string");
      expect(policyLanguage(name), `policy language of ${JSON.stringify(name)}`).toBe(language);
    }
    for (const refused of ["c", "c#", "cobol", "python4"]) {
      expect(LanguageNotSupportedError.isInstance(sessionLanguage(refused)), `session refuses ${JSON.stringify(refused)}`).toBe(true);
      expect(LanguageNotSupportedError.isInstance(policyLanguage(refused)), `policy refuses ${JSON.stringify(refused)}`).toBe(true);
      expect(() => new SecurityPolicy().refusedLibraries(["x"], refused)).toThrow(LanguageNotSupportedError);
    }
  });

  it("an alias is read as its language: rules and presets apply through it", () => {
    const strict = getSecurityPolicy("strict");
    expect(strict.check("require('child_process').execSync('id')", "nodejs").safe).toBe(false);
    expect(strict.check("system('id')", "rscript").safe).toBe(false);
    expect(strict.check("#include <cstdlib>\nint main() { return system(\"id\"); }", "cxx").safe).toBe(false);
    expect(strict.refusedLibraries(["ffi-napi@2"], "nodejs")).toMatchObject([{ module: "ffi-napi" }]);
  });
});

describe("a language registered at run time", () => {
  const kotlin: LanguageHandler = {
    name: "kotlin",
    aliases: ["kt"],
    fileExtension: "kts",
    imageDir: "kotlin",
    preinstalledLibraries: [],
    syntax: { ...C_COMMENTS, quotes: [quote('"""', { multiline: true }), quote('"'), quote("'")], word: IDENTIFIER, features: features() },
    codeFile: (runId) => `.sandbox-${runId}.kts`,
    runScript: () => 'kotlinc -script "$SANDBOX_FILE"',
  };
  // JavaScript's scanner, and no preset rules of its own: JavaScript's cover it.
  const { presetRules: _own, ...runtime } = javascript;
  const deno: LanguageHandler = { ...runtime, name: "deno", aliases: [], dialectOf: "javascript" };
  // The registry is shared by the unit project's test files: languages registered here leave with their test.
  afterEach(() => ["kotlin", "deno"].forEach(unregisterLanguageHandler));

  it("is accepted by policies; without scanner rules its code is read for comments and literals only", () => {
    registerLanguageHandler(kotlin);
    expect(policyLanguage("KT")).toBe("kotlin");
    const policy = new SecurityPolicy({
      severityThreshold: HIGH,
      patterns: [
        { pattern: "Runtime\\.getRuntime", description: "runtime", severity: HIGH, languages: ["kt"] },
        { pattern: "ProcessBuilder", description: "process", severity: HIGH },
      ],
      restrictedModules: [{ name: "java.lang", severity: HIGH }],
    });
    expect(policy.check('// Runtime.getRuntime()\nval s = "ProcessBuilder"', "kotlin")).toEqual({ safe: true, violations: [] });
    const found = policy.check("import java.lang.ProcessBuilder\nRuntime.getRuntime().exec(\"id\")", "kt");
    // No import reader: the restricted module is not seen, the patterns are.
    expect(found.violations.map((v) => v.description)).toEqual(["process", "runtime"]);
    // The presets have no rules for it: its code passes them all.
    for (const preset of listSecurityPresets()) expect(getSecurityPolicy(preset).check('Runtime.getRuntime().exec("rm -rf /")', "kotlin").violations).toEqual([]);
  });

  it("takes its scanner and its preset rules from its handler; a dialect is covered by its language's rules", () => {
    registerLanguageHandler(deno);
    expect(getSecurityPolicy("production").check("import { exec } from 'node:child_process'", "deno")).toMatchObject({
      safe: false,
      violations: [{ kind: "module", module: "child_process" }],
    });
    const scoped = new SecurityPolicy({ severityThreshold: HIGH, restrictedModules: [{ name: "fs", severity: HIGH, languages: ["javascript"] }] });
    expect(scoped.check("const fs = require('node:fs/promises')", "deno").safe).toBe(false);
  });
});
