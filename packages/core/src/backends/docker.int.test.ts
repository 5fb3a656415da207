import { DockerBackend, engineClient } from "@llm-sandbox/core";
import { afterAll, describe, expect, it } from "vitest";
import { LABELS } from "../internal/labels.js";

describe("DockerBackend exec (real engine)", async () => {
  const backend = new DockerBackend(engineClient());
  const id = await backend.create({
    image: "llm-sandbox/python:latest",
    user: "1000:1000",
    workdir: "/sandbox",
    env: {},
    labels: { [LABELS.managed]: "true", [LABELS.ownerPid]: String(process.pid), [LABELS.ownerHost]: (await import("node:os")).hostname() },
    readOnlyRootfs: true,
    tmpfs: { "/tmp": 64 * 1024 * 1024 },
    network: { mode: "none" },
  });
  afterAll(() => backend.remove(id));

  it("streams stdin to a long-lived program and its answers back before stdin ends", async () => {
    const answers: string[] = [];
    let answered: () => void = () => {};
    async function* commands() {
      for (const line of ["one\n", "two\n"]) {
        const seen = new Promise<void>((resolve) => (answered = resolve));
        yield Buffer.from(line);
        await seen; // the program's reply to this line arrived while stdin is still open
      }
    }
    const { exitCode } = await backend.exec(id, {
      argv: ["python3", "-u", "-c", "import sys\nfor line in sys.stdin: print(line.strip().upper(), flush=True)"],
      stdin: commands(),
      onStdout: (chunk) => {
        answers.push(Buffer.from(chunk).toString());
        answered();
      },
    });
    expect(exitCode).toBe(0);
    expect(answers.join("")).toBe("ONE\nTWO\n");
  });

  it("returns the exit code of a program given stdin bytes", async () => {
    const chunks: Buffer[] = [];
    const { exitCode } = await backend.exec(id, {
      argv: ["sh", "-c", "cat; exit 5"],
      stdin: Buffer.from("bytes in"),
      onStdout: (chunk) => chunks.push(Buffer.from(chunk)),
    });
    expect(exitCode).toBe(5);
    expect(Buffer.concat(chunks).toString()).toBe("bytes in");
  });
});
