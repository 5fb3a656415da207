import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { LABELS } from "../internal/labels.js";
import { ownerGone } from "./cleanup.js";

describe("ownerGone", () => {
  const labels = (pid: number | string, host = "here") => ({ [LABELS.ownerPid]: String(pid), [LABELS.ownerHost]: host });

  it("is true only for a dead owner on this host", () => {
    const dead = spawnSync(process.execPath, ["-e", "0"]).pid;
    expect(ownerGone(labels(dead), "here")).toEqual({ gone: true, reason: `owner pid ${dead} is gone` });
    expect(ownerGone(labels(process.pid), "here").gone).toBe(false);
    expect(ownerGone(labels(dead, "elsewhere"), "here")).toEqual({ gone: false, reason: "owned by a process on elsewhere" });
    expect(ownerGone({}, "here")).toEqual({ gone: false, reason: "no owner labels" });
    expect(ownerGone(labels("x"), "here").gone).toBe(false);
  });
});
