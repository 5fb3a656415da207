import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ValidationError } from "@llm-sandbox/core";
import { describe, expect, it } from "vitest";
import { loggableConfig, parseCommand, type ServeConfig, USAGE } from "./config.js";

describe("MCP server configuration (flags and environment)", () => {
  it("defaults to stdio on loopback with core's defaults", () => {
    expect(parseCommand([], {})).toEqual({ transport: "stdio", host: "127.0.0.1", port: 3100, verbose: false, server: {} });
  });

  it("reads every setting from flags or environment; a flag wins", () => {
    const config = parseCommand(
      ["--transport", "http", "--port=0", "--languages", "python, javascript", "--timeout", "30", "--verbose", "--network", "true"],
      {
        LLM_SANDBOX_TIMEOUT: "99",
        LLM_SANDBOX_MEMORY: "512m",
        LLM_SANDBOX_CPUS: "0.5",
        LLM_SANDBOX_PIDS: "64",
        LLM_SANDBOX_BACKEND: "docker",
        LLM_SANDBOX_REUSE: "persistent",
        LLM_SANDBOX_MAX_OUTPUT_CHARS: "5000",
        LLM_SANDBOX_SESSION_IDLE_TIMEOUT: "120",
        LLM_SANDBOX_MAX_SESSIONS: "3",
        LLM_SANDBOX_MCP_HOST: "::1",
      },
    );
    expect(config).toEqual({
      transport: "http",
      host: "::1",
      port: 0,
      verbose: true,
      server: {
        backend: "docker",
        languages: ["python", "javascript"],
        reuse: "persistent",
        executionTimeout: 30,
        runtimeConfigs: { memory: "512m", cpus: 0.5, pids: 64, network: true },
        maxOutputChars: 5000,
        sessionIdleTimeout: 120,
        maxSessions: 3,
        verbose: true,
      },
    });
    expect(parseCommand([], { LLM_SANDBOX_NETWORK: "my-net", LLM_SANDBOX_VERBOSE: "off" })).toMatchObject({ verbose: false, server: { runtimeConfigs: { network: "my-net" } } });
  });

  it("lists every bad value with the flag or variable it came from", () => {
    const error = (() => {
      try {
        parseCommand(["--timeout", "soon", "--transport", "ftp"], { LLM_SANDBOX_PIDS: "-3", LLM_SANDBOX_VERBOSE: "maybe", LLM_SANDBOX_MCP_PORT: "70000" });
      } catch (e) {
        return e as Error;
      }
    })();
    expect(ValidationError.isInstance(error)).toBe(true);
    expect(error?.message).toBe(
      [
        "Invalid configuration:",
        '  --transport="ftp": Invalid option: expected one of "stdio"|"http"',
        "  LLM_SANDBOX_MCP_PORT=\"70000\": expected a port number from 0 to 65535",
        '  --timeout="soon": expected a number of seconds',
        '  LLM_SANDBOX_PIDS="-3": expected a positive number',
        '  LLM_SANDBOX_VERBOSE="maybe": expected true or false',
      ].join("\n"),
    );
  });

  it("validates session settings with core's rules, and refuses unknown flags and languages", () => {
    expect(() => parseCommand([], { LLM_SANDBOX_MEMORY: "lots" })).toThrow(/Invalid configuration: Invalid session options:[\s\S]*runtimeConfigs.memory/);
    expect(() => parseCommand(["--backend", "lxc"], {})).toThrow(/backend/);
    expect(() => parseCommand(["--languages", "python,cobol"], {})).toThrow(/cobol is not supported/);
    expect(() => parseCommand(["--bogus"], {})).toThrow(/Unknown option '--bogus'[\s\S]*Usage: llm-sandbox-mcp/);
    expect(parseCommand(["--help"], {})).toEqual({ help: true });
    expect(parseCommand(["--version"], {})).toEqual({ version: true });
  });
});

describe("MCP server configuration: a network policy", () => {
  const TOKEN = "ghp_the-real-token-value";
  const messageOf = (run: () => unknown): string => {
    try {
      run();
    } catch (error) {
      expect(ValidationError.isInstance(error)).toBe(true);
      return (error as Error).message;
    }
    throw new Error("expected a ValidationError");
  };

  it("builds runtimeConfigs.network from repeatable, comma-separated flags; secret values come from the server's environment", () => {
    const dir = mkdtempSync(join(tmpdir(), "mcp-config-"));
    const ca = join(dir, "ca.pem");
    writeFileSync(ca, "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
    const config = parseCommand(
      [
        "--allow-host", "api.github.com,*.githubusercontent.com",
        "--allow-host=db.internal:5432",
        "--deny-host", "uploads.github.com",
        "--host-address", "db.internal=10.1.2.3",
        "--secret", "GITHUB_TOKEN=GH_PAT:api.github.com,uploads.github.com",
        "--proxy-ca", ca,
      ],
      { GH_PAT: TOKEN, LLM_SANDBOX_ALLOW_HOSTS: "ignored.example" },
    );
    expect(config).toMatchObject({
      server: {
        runtimeConfigs: {
          network: {
            allow: ["api.github.com", "*.githubusercontent.com", "db.internal:5432"],
            deny: ["uploads.github.com"],
            hosts: { "db.internal": "10.1.2.3" },
            secrets: { GITHUB_TOKEN: { value: TOKEN, hosts: ["api.github.com", "uploads.github.com"] } },
            caCerts: [expect.stringContaining("BEGIN CERTIFICATE")],
          },
        },
      },
    });
    const fromEnv = parseCommand([], {
      LLM_SANDBOX_ALLOW_HOSTS: "a.example, b.example",
      LLM_SANDBOX_SECRETS: "A=VAR_A:a.example B=VAR_B:b.example",
      VAR_A: "1",
      VAR_B: "2",
    });
    expect(fromEnv).toMatchObject({
      server: { runtimeConfigs: { network: { allow: ["a.example", "b.example"], secrets: { A: { value: "1", hosts: ["a.example"] }, B: { value: "2", hosts: ["b.example"] } } } } },
    });
    // A policy alone is enough: no host allowed, nothing reachable.
    expect(parseCommand(["--deny-host", "x.example"], {})).toMatchObject({ server: { runtimeConfigs: { network: { allow: [], deny: ["x.example"] } } } });
  });

  it("names the missing variable of a secret, never a value", () => {
    expect(messageOf(() => parseCommand(["--allow-host", "api.github.com", "--secret", "GITHUB_TOKEN=GH_PAT:api.github.com"], {}))).toBe(
      "Invalid configuration:\n  --secret: secret GITHUB_TOKEN reads environment variable GH_PAT, which is not set or empty",
    );
    const twice = messageOf(() => parseCommand(["--secret", "T=GH_PAT:a.example", "--secret", "T=GH_PAT:b.example"], { GH_PAT: TOKEN }));
    expect(twice).toContain("secret T is given twice");
    expect(twice).not.toContain(TOKEN);
    const badHost = messageOf(() => parseCommand(["--secret", "T=GH_PAT:10.0.0.1"], { GH_PAT: TOKEN }));
    expect(badHost).toMatch(/--secret: "10\.0\.0\.1": raw IP addresses cannot be allowed/);
    expect(badHost).not.toContain(TOKEN);
  });

  it("lists malformed entries with the flag or variable they came from", () => {
    const message = messageOf(() =>
      parseCommand(["--secret", "GITHUB_TOKEN", "--host-address", "db.internal"], { LLM_SANDBOX_ALLOW_HOSTS: "api.github.com", LLM_SANDBOX_PROXY_CA: "/nonexistent/ca.pem" }),
    );
    expect(message).toContain('--host-address="db.internal": expected name=address');
    expect(message).toContain("--secret: expected NAME=ENV_VAR:host1,host2");
    // A value pasted where the variable's name belongs is not repeated in the message.
    expect(messageOf(() => parseCommand(["--secret", `GITHUB_TOKEN=${TOKEN}`], {}))).not.toContain(TOKEN);
    expect(messageOf(() => parseCommand(["--allow-host", "1.2.3.4,ok.example:99999"], {}))).toMatch(
      /--allow-host: "1\.2\.3\.4": raw IP addresses[\s\S]*--allow-host: "ok\.example:99999": port 99999 is out of range/,
    );
    expect(messageOf(() => parseCommand([], { LLM_SANDBOX_ALLOW_HOSTS: "a.example", LLM_SANDBOX_PROXY_CA: "/nonexistent/ca.pem" }))).toContain(
      "LLM_SANDBOX_PROXY_CA: cannot read /nonexistent/ca.pem (ENOENT)",
    );
  });

  it("refuses a policy together with --network", () => {
    expect(messageOf(() => parseCommand(["--network", "true", "--allow-host", "a.example"], {}))).toContain(
      "--network cannot be combined with --allow-host: those make the network a policy",
    );
    expect(messageOf(() => parseCommand(["--secret", "T=V:a.example"], { LLM_SANDBOX_NETWORK: "my-net", V: "x" }))).toContain(
      "LLM_SANDBOX_NETWORK cannot be combined with --secret",
    );
  });

  it("verbose logging shows secrets by name and hosts, never their values; the help lists the flags", () => {
    const config = parseCommand(["--verbose", "--allow-host", "api.github.com", "--secret", "GITHUB_TOKEN=GH_PAT:api.github.com"], { GH_PAT: TOKEN });
    const logged = loggableConfig(config as ServeConfig);
    expect(logged).toContain('"secrets":{"GITHUB_TOKEN":{"hosts":["api.github.com"]}}');
    expect(logged).toContain('"allow":["api.github.com"]');
    expect(logged).not.toContain(TOKEN);
    for (const flag of ["--allow-host <pattern>", "--deny-host <pattern>", "--host-address <name=ip>", "--secret <NAME=ENV_VAR:hosts>", "--proxy-ca <pem file>"]) {
      expect(USAGE).toContain(flag);
    }
  });
});
