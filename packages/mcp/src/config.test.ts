import { ValidationError } from "@llm-sandbox/core";
import { describe, expect, it } from "vitest";
import { parseCommand } from "./config.js";

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
