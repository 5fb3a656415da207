import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { closeStdinFrame, frame, parseExecStatus, stdinChunk, withChunkedStdin, withEnvironment } from "./kube-exec.js";

/** Runs argv on this machine's /bin/sh, as the pod's would. */
const run = (argv: readonly string[], input?: Buffer) => {
  const result = spawnSync(argv[0]!, argv.slice(1), { input, cwd: "/" });
  return { code: result.status, stdout: result.stdout.toString(), stderr: result.stderr.toString() };
};

describe("exec status channel (metav1.Status)", () => {
  it("Success is exit code 0", () => {
    expect(parseExecStatus('{"metadata":{},"status":"Success"}')).toEqual({ exitCode: 0 });
  });

  it("NonZeroExitCode carries the code in its ExitCode cause", () => {
    const status = {
      metadata: {},
      status: "Failure",
      message: "command terminated with non-zero exit code: error executing command [sh -c exit 3], exit code 3",
      reason: "NonZeroExitCode",
      details: { causes: [{ reason: "ExitCode", message: "3" }] },
    };
    expect(parseExecStatus(JSON.stringify(status))).toEqual({ exitCode: 3 });
  });

  it("any other failure is an error with the server's message", () => {
    const status = { status: "Failure", reason: "InternalError", message: "Internal error occurred: error executing command in container: boom", code: 500 };
    expect(parseExecStatus(JSON.stringify(status))).toEqual({ error: status.message });
    expect(parseExecStatus("not json")).toMatchObject({ error: expect.stringContaining("unreadable") });
  });
});

describe("channel framing", () => {
  it("prefixes the channel byte; v5 closes stdin with 255 0", () => {
    expect([...frame(0, Buffer.from("hi"))]).toEqual([0, 104, 105]);
    expect([...frame(1)]).toEqual([1]);
    expect([...closeStdinFrame()]).toEqual([255, 0]);
  });
});

describe("withEnvironment (Kubernetes exec has no env or working directory)", () => {
  it("is the argv itself when there is nothing to set", () => {
    expect(withEnvironment(["echo", "x"])).toEqual(["echo", "x"]);
  });

  it("sets variables and the directory without any shell parsing of the values", () => {
    const tricky = `it's "$HOME" \`id\` $(id)\nline2; rm -rf /`;
    const argv = withEnvironment(["/bin/sh", "-c", 'printf "%s|%s|" "$A" "$B"; pwd'], { A: tricky, B: "" }, "/tmp");
    expect(run(argv)).toEqual({ code: 0, stdout: `${tricky}||/tmp\n`, stderr: "" });
  });

  it("passes argv through untouched, '--' included, and keeps the exit code", () => {
    expect(run(withEnvironment(["printf", "%s,", "--", "a b", "$X"], { X: "1" }))).toMatchObject({ code: 0, stdout: "--,a b,$X," });
    expect(run(withEnvironment(["sh", "-c", "exit 7"], { X: "1" })).code).toBe(7);
  });

  it("a missing directory fails with 126 before the program runs", () => {
    const result = run(withEnvironment(["echo", "ran"], {}, "/no/such/dir"));
    expect(result.code).toBe(126);
    expect(result.stdout).toBe("");
  });
});

describe("withChunkedStdin (v4: stdin ends without closing the connection)", () => {
  it("delivers the chunks, then end of file, and keeps the exit code", () => {
    const input = Buffer.concat([stdinChunk(Buffer.from("one\n")), stdinChunk(Buffer.from([0, 1, 2, 255, 10])), stdinChunk(new Uint8Array()), Buffer.from("ignored after the end")]);
    const result = spawnSync("/bin/sh", withChunkedStdin(["sh", "-c", "od -An -c; exit 5"]).slice(1), { input });
    expect(result.status).toBe(5);
    expect(result.stdout.toString().replace(/\s+/g, " ").trim()).toBe("o n e \\n \\0 001 002 377 \\n");
  });
});
