import { describe, expect, it } from "vitest";
import type { BackendAdapter, ExecRequest } from "../backends/backend.js";
import { silentLogger } from "../internal/logger.js";
import { encodeFrame, encodeJsonFrame, FrameDecoder, FrameKind } from "./frames.js";
import { Kernel, KernelGone } from "./kernel.js";

/**
 * A stand-in for the engine (the protocol logic is pure; the real kernels are tested against the engine): the
 * "kernel" exec hands its frames to `script`, which answers through `reply`; other execs (interrupt, kill) are
 * recorded. The exec ends when `script` returns.
 */
function fakeBackend(script: (frames: AsyncIterable<[string, Buffer]>, reply: (frame: Buffer) => void) => Promise<number>) {
  const execs: string[][] = [];
  const backend = {
    async exec(_id: string, request: ExecRequest) {
      execs.push([...request.argv]);
      if (!request.stdin || request.stdin instanceof Uint8Array) return { exitCode: 0 };
      const input = request.stdin;
      async function* frames(): AsyncIterable<[string, Buffer]> {
        const queue: [string, Buffer][] = [];
        const decoder = new FrameDecoder((kind, payload) => queue.push([kind, Buffer.from(payload)]), 1 << 20);
        for await (const chunk of input) {
          decoder.push(chunk);
          yield* queue.splice(0);
        }
      }
      return { exitCode: await script(frames(), (frame) => request.onStdout?.(frame)) };
    },
  } as unknown as BackendAdapter;
  return { backend, execs };
}

const hello = encodeJsonFrame(FrameKind.HELLO, { pid: 42, language: "python", version: "test" });

function start(backend: BackendAdapter) {
  return Kernel.start({
    backend,
    containerId: "c",
    workdir: "/sandbox",
    argv: ["kernel"],
    source: Buffer.from("print('kernel source')"),
    dir: "/tmp/k",
    detach: new AbortController().signal,
    startTimeout: 5,
    maxFrameBytes: 1 << 20,
    idleOutputBytes: 10,
    logger: silentLogger,
  });
}

const sink = () => {
  const events: string[] = [];
  return {
    events,
    stdout: (chunk: Uint8Array) => events.push(`out:${Buffer.from(chunk)}`),
    stderr: (chunk: Uint8Array) => events.push(`err:${Buffer.from(chunk)}`),
    display: (frame: unknown) => events.push(`display:${JSON.stringify(frame)}`),
  };
};

describe("Kernel (protocol logic, fake transport)", () => {
  it("sends its source first, then one execute frame per cell; routes events to the running cell", async () => {
    const received: string[] = [];
    const { backend } = fakeBackend(async (frames, reply) => {
      reply(hello);
      for await (const [kind, payload] of frames) {
        received.push(`${kind}:${payload}`);
        if (kind !== FrameKind.EXECUTE) continue;
        const { cell } = JSON.parse(payload.toString());
        reply(Buffer.concat([encodeFrame(FrameKind.STDOUT, "hi\n"), encodeJsonFrame(FrameKind.DISPLAY, { data: { "image/png": "AA==" } })]));
        reply(encodeJsonFrame(FrameKind.RESULT, { cell: cell + 100, status: "ok", value: "stale", error: null })); // not this cell's
        reply(encodeJsonFrame(FrameKind.RESULT, { cell, status: "ok", value: "42", error: null }));
      }
      return 0;
    });
    const kernel = await start(backend);
    expect(kernel.info).toEqual({ pid: 42, language: "python", version: "test" });
    const events = sink();
    expect(await kernel.execute(7, "21 * 2", events)).toEqual({ cell: 7, status: "ok", value: "42", error: null });
    expect(events.events).toEqual(["out:hi\n", 'display:{"data":{"image/png":"AA=="}}']);
    expect(received).toEqual(["S:print('kernel source')", 'X:{"cell":7,"code":"21 * 2"}']);
    await kernel.stop();
  });

  it("keeps output written between cells (up to the limit) for the next cell", async () => {
    const { backend } = fakeBackend(async (frames, reply) => {
      reply(hello);
      reply(Buffer.concat([encodeFrame(FrameKind.STDERR, "late\n"), encodeFrame(FrameKind.STDOUT, "0123456789-too-much")]));
      for await (const [kind, payload] of frames) {
        if (kind === FrameKind.EXECUTE) reply(encodeJsonFrame(FrameKind.RESULT, { cell: JSON.parse(payload.toString()).cell, status: "ok", value: null, error: null }));
      }
      return 0;
    });
    const kernel = await start(backend);
    const events = sink();
    await kernel.execute(1, "pass", events);
    expect(events.events).toEqual(["err:late\n"]);
    await kernel.stop();
  });

  it.each([
    ["an unknown frame kind", Buffer.from([0x5a, 0, 0, 0, 0]), /unknown frame kind/],
    ["a result frame of the wrong shape", encodeJsonFrame(FrameKind.RESULT, { cell: 1, status: "maybe" }), /wrong shape/],
    ["a control frame that is not JSON", encodeFrame(FrameKind.DISPLAY, "{nope"), /not valid JSON/],
  ])("treats %s as a dead kernel: it is stopped and the cell rejects", async (_what, bad, reason) => {
    let release: () => void = () => {};
    const { backend, execs } = fakeBackend(async (frames, reply) => {
      reply(hello);
      for await (const [kind] of frames) if (kind === FrameKind.EXECUTE) reply(bad);
      await new Promise<void>((resolve) => (release = resolve)); // a process that keeps running until killed
      return 137;
    });
    const kernel = await start(backend);
    const running = kernel.execute(1, "x", sink()).catch((e: unknown) => e);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(execs.some((argv) => argv.join(" ").includes("LLM_SANDBOX_RUN"))).toBe(true); // the kill step ran
    release();
    const error = await running;
    expect(error).toBeInstanceOf(KernelGone);
    expect((error as KernelGone).exit.reason).toMatch(reason);
    expect(kernel.exit?.exitCode).toBe(137);
    await expect(kernel.execute(2, "y", sink())).rejects.toBeInstanceOf(KernelGone);
  });

  it("reports a kernel that exits before its hello, with what it wrote to stderr", async () => {
    const backend = {
      async exec(_id: string, request: ExecRequest) {
        request.onStderr?.(Buffer.from("ModuleNotFoundError: No module named 'IPython'\n"));
        return { exitCode: 70 };
      },
    } as unknown as BackendAdapter;
    const error = await start(backend).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KernelGone);
    expect((error as KernelGone).exit).toEqual({ exitCode: 70, reason: undefined, diagnostics: "ModuleNotFoundError: No module named 'IPython'" });
  });
});
