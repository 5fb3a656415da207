import { FileNotFoundError, type SandboxSession, ValidationError } from "@llm-sandbox/core";
import { deleteSandboxFile, describeNetworkPolicy, fromSession, listSandboxDirectory, statSandboxFile } from "@llm-sandbox/core/tool";
import type { Experimental_SandboxFileStat, Experimental_SandboxProcess, Experimental_SandboxSession } from "ai";

/** The AI SDK answers a missing path with a value (null, false), not an error. */
const whenMissing =
  <T>(answer: T) =>
  (error: unknown): T => {
    if (FileNotFoundError.isInstance(error)) return answer;
    throw error;
  };

/**
 * Exposes an open session as the AI SDK's `Experimental_SandboxSession`, so tools written for that contract
 * (`experimental_sandbox` in `generateText`/`streamText`, e.g. bash-tool) run in our container. Commands run through
 * `/bin/sh -c`; relative paths resolve against the session's workdir. The session's operations run one at a time,
 * so a spawned process holds the session until it exits or is killed; writable stdin is not supported.
 * Experimental like the interface it implements; the caller owns (and closes) the session.
 */
export function experimental_toSandboxSession(session: SandboxSession): Experimental_SandboxSession {
  // Described as the code tool describes a session, so the two never disagree on what "network" means.
  const info = fromSession(session).info;
  const network = describeNetworkPolicy(info) ?? (info.network ? "The network is reachable." : "There is no network access.");
  const signalOf = (abortSignal: AbortSignal | undefined) => (abortSignal ? { signal: abortSignal } : {});
  const readBinaryFile = ({ path, abortSignal }: { path: string; abortSignal?: AbortSignal }) =>
    session.readFile(path, signalOf(abortSignal)).catch(whenMissing(null));

  return {
    description:
      `An isolated Linux container (${session.language.name} image). Commands run with /bin/sh in ${info.workdir}, ` +
      `and relative paths resolve against it. ${network}`,

    async run({ command, workingDirectory, env, abortSignal }) {
      const output = await session.executeCommand(command, {
        ...(workingDirectory ? { workdir: workingDirectory } : {}),
        ...(env ? { env } : {}),
        ...signalOf(abortSignal),
      });
      return { exitCode: output.exitCode, stdout: output.stdout, stderr: output.stderr };
    },

    // The stdin overload never resolves (it rejects first), hence the cast past it.
    spawn: (async (options: { command: string; workingDirectory?: string; env?: Record<string, string>; abortSignal?: AbortSignal; stdin?: boolean }) => {
      if (options.stdin) throw new ValidationError("spawn with writable stdin is not supported by this sandbox session");
      return spawn(session, options);
    }) as unknown as Experimental_SandboxSession["spawn"],

    readFile: async (options) => {
      const bytes = await readBinaryFile(options);
      return bytes && new Blob([bytes]).stream();
    },
    readBinaryFile,
    async readTextFile({ encoding = "utf-8", startLine, endLine, ...options }) {
      const bytes = await readBinaryFile(options);
      if (!bytes) return null;
      const text = new TextDecoder(encoding).decode(bytes);
      if (startLine === undefined && endLine === undefined) return text;
      const lines = text.split(/(?<=\n)/);
      return lines.slice(Math.max((startLine ?? 1) - 1, 0), endLine ?? lines.length).join("");
    },

    async writeFile({ path, content, abortSignal }) {
      await session.writeFile(path, new Uint8Array(await new Response(content).arrayBuffer()), signalOf(abortSignal));
    },
    async writeBinaryFile({ path, content, abortSignal }) {
      await session.writeFile(path, content, signalOf(abortSignal));
    },
    async writeTextFile({ path, content, encoding = "utf-8", abortSignal }) {
      const name = encoding.toLowerCase().replace(/^utf-8$/, "utf8");
      if (!Buffer.isEncoding(name)) throw new ValidationError(`Unsupported text encoding: ${encoding}`);
      await session.writeFile(path, Buffer.from(content, name), signalOf(abortSignal));
    },

    async stat({ path, abortSignal }): Promise<Experimental_SandboxFileStat | null> {
      const stat = await statSandboxFile(session, path, signalOf(abortSignal)).catch(whenMissing(null));
      // Links are followed, so a stat never reports one; the AI SDK has no symlink type anyway.
      return stat && { type: stat.type === "symlink" ? "other" : stat.type, size: stat.size };
    },

    async listDirectory({ path, abortSignal }) {
      const entries = await listSandboxDirectory(session, path, signalOf(abortSignal)).catch(whenMissing(null));
      return entries && entries.map(({ name, type }) => ({ name, type }));
    },

    deleteFile: ({ path, abortSignal }) =>
      deleteSandboxFile(session, path, signalOf(abortSignal)).then(
        () => true,
        whenMissing(false),
      ),
  };
}

/** A command whose output streams as bytes; `kill()` stops it in the sandbox and `wait()` then rejects. */
function spawn(
  session: SandboxSession,
  { command, workingDirectory, env, abortSignal }: { command: string; workingDirectory?: string; env?: Record<string, string>; abortSignal?: AbortSignal },
): Experimental_SandboxProcess {
  const stop = new AbortController();
  const signal = abortSignal ? AbortSignal.any([abortSignal, stop.signal]) : stop.signal;
  const encoder = new TextEncoder();
  const pipe = () => {
    let controller!: ReadableStreamDefaultController<Uint8Array>;
    const stream = new ReadableStream<Uint8Array>({ start: (c) => void (controller = c) });
    return { stream, controller };
  };
  const stdout = pipe();
  const stderr = pipe();
  const done = session.executeCommand(command, {
    ...(workingDirectory ? { workdir: workingDirectory } : {}),
    ...(env ? { env } : {}),
    signal,
    onStdout: (text) => stdout.controller.enqueue(encoder.encode(text)),
    onStderr: (text) => stderr.controller.enqueue(encoder.encode(text)),
  });
  const finished = done.then(
    (output) => {
      stdout.controller.close();
      stderr.controller.close();
      return { exitCode: output.exitCode };
    },
    (error: unknown) => {
      stdout.controller.error(error);
      stderr.controller.error(error);
      throw error;
    },
  );
  finished.catch(() => {}); // surfaced through wait()
  return {
    stdout: stdout.stream,
    stderr: stderr.stream,
    wait: () => finished,
    async kill() {
      stop.abort();
      await finished.catch(() => {});
    },
  };
}
