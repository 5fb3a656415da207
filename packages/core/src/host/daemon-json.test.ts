import { describe, expect, it } from "vitest";
import { EngineUnavailableError } from "../errors.js";
import { mergeDaemonRuntimes, runscRuntimes, sameRuntime } from "./daemon-json.js";

const ours = runscRuntimes("/usr/bin/runsc", { "gv": ["--network=none"], "gv-net": ["--network=host"] });

describe("mergeDaemonRuntimes", () => {
  it("creates the file's content when there is none", () => {
    const text = mergeDaemonRuntimes(undefined, ours);
    expect(JSON.parse(text ?? "")).toEqual({
      runtimes: {
        gv: { path: "/usr/bin/runsc", runtimeArgs: ["--network=none"] },
        "gv-net": { path: "/usr/bin/runsc", runtimeArgs: ["--network=host"] },
      },
    });
  });

  it("keeps other keys and runtimes, in their order, and appends ours", () => {
    const before = JSON.stringify({
      "log-level": "warn",
      runtimes: { kata: { path: "/opt/kata/bin/kata-runtime" } },
      "default-address-pools": [{ base: "10.10.0.0/16", size: 24 }],
    });
    const after = JSON.parse(mergeDaemonRuntimes(before, ours) ?? "") as Record<string, unknown>;
    expect(Object.keys(after)).toEqual(["log-level", "runtimes", "default-address-pools"]);
    expect(after["default-address-pools"]).toEqual([{ base: "10.10.0.0/16", size: 24 }]);
    expect(Object.keys(after.runtimes as object)).toEqual(["kata", "gv", "gv-net"]);
    expect((after.runtimes as Record<string, unknown>).kata).toEqual({ path: "/opt/kata/bin/kata-runtime" });
  });

  it("corrects an entry of ours that differs, in place", () => {
    const before = JSON.stringify({ runtimes: { gv: { path: "/usr/local/bin/runsc", runtimeArgs: ["--debug"] }, other: { path: "x" } } });
    const after = JSON.parse(mergeDaemonRuntimes(before, ours) ?? "") as { runtimes: Record<string, unknown> };
    expect(Object.keys(after.runtimes)).toEqual(["gv", "other", "gv-net"]);
    expect(after.runtimes.gv).toEqual({ path: "/usr/bin/runsc", runtimeArgs: ["--network=none"] });
  });

  it("returns undefined (nothing to write) when ours are already there, whatever the formatting", () => {
    const before = `{"runtimes": {"gv-net": {"path": "/usr/bin/runsc", "runtimeArgs": ["--network=host"]},
      "gv": {"runtimeArgs": ["--network=none"], "path": "/usr/bin/runsc"}}, "debug": true}`;
    expect(mergeDaemonRuntimes(before, ours)).toBeUndefined();
    expect(mergeDaemonRuntimes(mergeDaemonRuntimes("{}", ours), ours)).toBeUndefined();
  });

  it("treats an empty file as an empty object", () => {
    expect(JSON.parse(mergeDaemonRuntimes("\n", ours) ?? "")).toHaveProperty("runtimes.gv");
  });

  it("refuses to overwrite a file it cannot read as a JSON object", () => {
    expect(() => mergeDaemonRuntimes("{ not json", ours, "/etc/docker/daemon.json")).toThrow(EngineUnavailableError);
    expect(() => mergeDaemonRuntimes("[1]", ours)).toThrow(/not a JSON object/);
    expect(() => mergeDaemonRuntimes('{"runtimes": []}', ours)).toThrow(/"runtimes" .* not an object/);
  });
});

describe("sameRuntime", () => {
  it("compares path and arguments, ignoring other fields", () => {
    expect(sameRuntime({ path: "/usr/bin/runsc", runtimeArgs: ["--network=none"], options: {} }, ours.gv!)).toBe(true);
    expect(sameRuntime({ path: "/usr/bin/runsc" }, ours.gv!)).toBe(false);
    expect(sameRuntime({ path: "/usr/bin/runsc", runtimeArgs: ["--network=host"] }, ours.gv!)).toBe(false);
    expect(sameRuntime(undefined, ours.gv!)).toBe(false);
  });
});
