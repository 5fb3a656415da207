import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runningDaemonPid, spawnDetached } from "./engine-setup.js";

describe("runningDaemonPid", () => {
  const dir = mkdtempSync(join(tmpdir(), "llm-sandbox-pidfile-"));
  const pidFile = join(dir, "daemon.pid");
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("names a live process that is the daemon", async () => {
    const sleeper = spawn("sleep", ["30"], { stdio: "ignore" });
    try {
      writeFileSync(pidFile, `${sleeper.pid}\n`);
      expect(runningDaemonPid(pidFile, "sleep")).toBe(sleeper.pid);
    } finally {
      sleeper.kill();
    }
  });

  it("ignores a stale pid file whose pid now belongs to another program", () => {
    writeFileSync(pidFile, `${process.pid}\n`);
    expect(runningDaemonPid(pidFile, "dockerd")).toBeUndefined();
  });

  it("ignores a missing file, a dead pid and garbage", () => {
    expect(runningDaemonPid(join(dir, "none.pid"), "dockerd")).toBeUndefined();
    writeFileSync(pidFile, "999999999\n");
    expect(runningDaemonPid(pidFile, "dockerd")).toBeUndefined();
    writeFileSync(pidFile, "not a pid");
    expect(runningDaemonPid(pidFile, "dockerd")).toBeUndefined();
  });
});

describe("spawnDetached", () => {
  it("starts the daemon in /, whatever directory setup runs in", async () => {
    const dir = mkdtempSync(join(tmpdir(), "llm-sandbox-daemon-"));
    try {
      const log = join(dir, "daemon.log");
      const started = spawnDetached("/bin/sh", ["-c", "pwd"], log);
      await expect.poll(() => started.how === "spawned" && started.exited()).toBe(true);
      expect(readFileSync(log, "utf8")).toBe("/\n");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
