import {
  createSession,
  FileAccessError,
  FileNotFoundError,
  PathTraversalError,
  type SandboxSession,
  SandboxTimeoutError,
  type SessionOptions,
  ValidationError,
} from "@llm-sandbox/core";
import { BaseSandbox, type ExecuteResponse, type FileDownloadResponse, type FileOperationError, type FileUploadResponse } from "deepagents";

/** Exit status reported when a command exceeded its time limit (as `timeout(1)` does). */
const TIMED_OUT = 124;

export interface LlmSandboxCreateOptions extends SessionOptions {
  /** Files written into the sandbox right after it opens (relative paths start at the workdir). */
  initialFiles?: Record<string, string | Uint8Array>;
}

/**
 * A deepagents sandbox backend on a real container: `execute`, `uploadFiles` and `downloadFiles` run through an
 * `@llm-sandbox/core` session; `ls`, `read`, `write`, `edit`, `grep` and `glob` come from deepagents' `BaseSandbox`.
 * `LlmSandbox.create()` opens one; `new LlmSandbox(options)` + `initialize()` is the two-step form. Close it when done.
 */
export class LlmSandbox extends BaseSandbox {
  readonly session: SandboxSession;

  constructor(options: SessionOptions | SandboxSession = {}) {
    super();
    this.session = isSession(options) ? options : createSession({ lang: "python", ...options });
  }

  static async create(options: LlmSandboxCreateOptions = {}): Promise<LlmSandbox> {
    const { initialFiles, ...sessionOptions } = options;
    const sandbox = new LlmSandbox(sessionOptions);
    try {
      await sandbox.initialize();
      const failed = (await sandbox.uploadFiles(Object.entries(initialFiles ?? {}).map(([path, content]) => [path, toBytes(content)]))).filter((r) => r.error);
      if (failed.length) throw new ValidationError(`Cannot write initial files: ${failed.map((r) => `${r.path} (${r.error})`).join(", ")}`);
      return sandbox;
    } catch (error) {
      await sandbox.close();
      throw error;
    }
  }

  /** The session's id (stable before and after opening). */
  get id(): string {
    return this.session.id;
  }

  get isRunning(): boolean {
    return this.session.isOpen;
  }

  async initialize(): Promise<void> {
    await this.session.open();
  }

  async close(): Promise<void> {
    await this.session.close();
  }

  /**
   * Runs `command` through `/bin/sh` in the workdir; `output` is stdout and stderr interleaved as written. A
   * command that exceeds the session's `defaultTimeout` is stopped and reported with exit code 124.
   */
  async execute(command: string): Promise<ExecuteResponse> {
    try {
      const output = await this.session.executeCommand(["/bin/sh", "-c", `exec 2>&1\n${command}`]);
      return { output: output.stdout, exitCode: output.exitCode, truncated: output.stdoutTruncated };
    } catch (error) {
      if (!SandboxTimeoutError.isInstance(error)) throw error;
      const partial = error.partialOutput?.stdout ?? "";
      return { output: `${partial}${partial && !partial.endsWith("\n") ? "\n" : ""}[${error.message}]`, exitCode: TIMED_OUT, truncated: false };
    }
  }

  /** Writes each file (parents created); one failing file does not stop the others. */
  async uploadFiles(files: Array<[string, Uint8Array]>): Promise<FileUploadResponse[]> {
    const responses: FileUploadResponse[] = [];
    for (const [path, content] of files) {
      const error = await this.session.writeFile(path, content).then(() => null, fileOperationError);
      responses.push({ path, error });
    }
    return responses;
  }

  /** Reads each file; one failing file does not stop the others. */
  async downloadFiles(paths: string[]): Promise<FileDownloadResponse[]> {
    const responses: FileDownloadResponse[] = [];
    for (const path of paths) {
      try {
        responses.push({ path, content: await this.session.readFile(path), error: null });
      } catch (error) {
        responses.push({ path, content: null, error: fileOperationError(error) });
      }
    }
    return responses;
  }
}

/** deepagents' error codes for the caller's mistakes; infrastructure failures propagate as errors. */
function fileOperationError(error: unknown): FileOperationError {
  if (FileNotFoundError.isInstance(error)) return "file_not_found";
  if (FileAccessError.isInstance(error)) return error.reason;
  if (PathTraversalError.isInstance(error) || ValidationError.isInstance(error)) return "invalid_path";
  throw error;
}

const isSession = (value: unknown): value is SandboxSession =>
  typeof value === "object" && value !== null && typeof (value as SandboxSession).run === "function" && typeof (value as SandboxSession).open === "function";

const toBytes = (content: string | Uint8Array) => (typeof content === "string" ? new TextEncoder().encode(content) : content);
