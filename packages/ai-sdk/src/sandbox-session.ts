import { FileNotFoundError, type SandboxSession, ValidationError } from "@llm-sandbox/core";
import { fromSession } from "@llm-sandbox/core/tool";
import type { Experimental_SandboxDirectoryEntry, Experimental_SandboxFileStat, Experimental_SandboxProcess, Experimental_SandboxSession } from "ai";

type DirectoryEntryType = Experimental_SandboxDirectoryEntry["type"];

/** Exit statuses of the inspection scripts below that are answers, not failures. */
const MISSING = 2;
const NOT_A_DIRECTORY = 20;
const IS_A_DIRECTORY = 21;

const STAT = `[ -e "$1" ] || exit ${MISSING}; stat -L -c '%F|%s' -- "$1"`;
const LIST = `[ -e "$1" ] || exit ${MISSING}; [ -d "$1" ] || exit ${NOT_A_DIRECTORY}; find "$1" -mindepth 1 -maxdepth 1 -printf '%y %f\\0'`;
const DELETE = `{ [ -e "$1" ] || [ -L "$1" ]; } || exit ${MISSING}; { [ -d "$1" ] && [ ! -L "$1" ]; } && exit ${IS_A_DIRECTORY}; rm -f -- "$1"`;

/**
 * Exposes an open session as the AI SDK's `Experimental_SandboxSession`, so tools written for that contract
 * (`experimental_sandbox` in `generateText`/`streamText`, e.g. bash-tool) run in our container. Commands run through
 * `/bin/sh -c`; relative paths resolve against the session's workdir. The session's operations run one at a time,
 * so a spawned process holds the session until it exits or is killed; writable stdin is not supported.
 * Experimental like the interface it implements; the caller owns (and closes) the session.
 */
export function experimental_toSandboxSession(session: SandboxSession): Experimental_SandboxSession {
  // Described as the code tool describes a session, so the two never disagree on what "network" means.
  const { workdir, network } = fromSession(session).info;
  const signalOf = (abortSignal: AbortSignal | undefined) => (abortSignal ? { signal: abortSignal } : {});
  const inspect = (script: string, path: string, abortSignal?: AbortSignal) =>
    session.executeCommand(["/bin/sh", "-c", script, "inspect", path], signalOf(abortSignal));
  const readBinaryFile = async ({ path, abortSignal }: { path: string; abortSignal?: AbortSignal }) => {
    try {
      return await session.readFile(path, signalOf(abortSignal));
    } catch (error) {
      if (FileNotFoundError.isInstance(error)) return null;
      throw error;
    }
  };

  return {
    description:
      `An isolated Linux container (${session.language.name} image). Commands run with /bin/sh in ${workdir}, ` +
      `and relative paths resolve against it. ${network ? "The network is reachable." : "There is no network access."}`,

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
      const output = await inspect(STAT, path, abortSignal);
      if (output.exitCode === MISSING) return null;
      const [kind, size] = expectSuccess(output, "stat", path).trim().split("|");
      return { type: kind?.includes("regular") ? "file" : kind === "directory" ? "directory" : "other", size: Number(size) };
    },

    async listDirectory({ path, abortSignal }) {
      const output = await inspect(LIST, path, abortSignal);
      if (output.exitCode === MISSING) return null;
      if (output.exitCode === NOT_A_DIRECTORY) throw new ValidationError(`${path} is not a directory`);
      return expectSuccess(output, "list", path)
        .split("\0")
        .filter(Boolean)
        .map((entry) => ({ name: entry.slice(2), type: ENTRY_TYPES[entry[0]!] ?? "other" }));
    },

    async deleteFile({ path, abortSignal }) {
      const output = await inspect(DELETE, path, abortSignal);
      if (output.exitCode === MISSING) return false;
      if (output.exitCode === IS_A_DIRECTORY) throw new ValidationError(`${path} is a directory; deleteFile deletes files only`);
      expectSuccess(output, "delete", path);
      return true;
    },
  };
}

const ENTRY_TYPES: Record<string, DirectoryEntryType> = { f: "file", d: "directory", l: "symlink" };

function expectSuccess(output: { exitCode: number; stdout: string; stderr: string }, what: string, path: string): string {
  if (output.exitCode !== 0) throw new ValidationError(`Cannot ${what} ${path}: ${output.stderr.trim() || `exit code ${output.exitCode}`}`);
  return output.stdout;
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
