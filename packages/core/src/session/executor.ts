import { posix } from "node:path";
import type { SandboxContainer } from "../container/sandbox-container.js";
import { ContainerError } from "../errors.js";
import { newId } from "../internal/ids.js";
import type { SandboxContext } from "../languages/handler.js";
import { ExecutionResult } from "../result.js";
import type { ProcessOutput } from "../container/process.js";
import { launchProgram, REAP_LEFTOVERS } from "../container/process-control.js";
import type { SessionProcessRequest } from "./types.js";

/** One program run, as the run pipeline hands it to an executor once it is validated, allowed and installed. */
export interface ProgramRequest {
  readonly code: string;
  /** Seconds, resolved by the session (the call's `timeout`, else the session's execution limit). */
  readonly timeout: number;
  /** Shell lines run before the program (exports of capture settings); for executors that start a program. */
  readonly prelude: string;
  readonly onStdout?: (text: string) => void;
  readonly onStderr?: (text: string) => void;
  readonly signal?: AbortSignal;
}

/** What an executor may use of its session: exec with the session's defaults, and the limits it resolved. */
export interface ExecutorContext {
  exec(container: SandboxContainer, request: SessionProcessRequest, options?: { launcher?: boolean }): Promise<ProcessOutput>;
  readonly sandbox: SandboxContext;
  readonly memoryLimitBytes: number | undefined;
}

/**
 * The last step of the run pipeline: runs the code and returns its result, a failing program included. A cold exec,
 * a pooled container's warm runner and an interactive kernel's cell are executors; timeouts, limits and the
 * out-of-memory diagnosis come from the session, the same for each.
 */
export interface Executor {
  execute(container: SandboxContainer, request: ProgramRequest): Promise<ExecutionResult>;
}

const CODE_WRITE_FAILED = 125;

/**
 * Writes the code from stdin to `$SANDBOX_FILE`, runs the language's script as the run's program (see
 * process-control.ts), ends the processes it left behind, removes the file and exits with the program's status.
 */
const RUN_WRAPPER = (runScript: string, prelude: string) =>
  `cat > "$SANDBOX_FILE" || { echo "[llm-sandbox] cannot write $SANDBOX_FILE" >&2; exit ${CODE_WRITE_FAILED}; }
${prelude}${launchProgram(runScript)}
rc=$?
${REAP_LEFTOVERS}
rm -f -- "$SANDBOX_FILE"; exit $rc`;

/**
 * A program in the session's language: one exec (the code on stdin, the exit code from the same exec) — or, on a
 * pooled container whose warm interpreter takes the run, a fresh copy of that interpreter with the same file,
 * environment and exit status.
 */
export class ProgramExecutor implements Executor {
  readonly #context: ExecutorContext;

  constructor(context: ExecutorContext) {
    this.#context = context;
  }

  async execute(container: SandboxContainer, request: ProgramRequest): Promise<ExecutionResult> {
    const { language } = container;
    const { sandbox } = this.#context;
    const runId = newId();
    const file = posix.join(sandbox.workdir, language.codeFile(runId));
    const { output } = await this.#context.exec(
      container,
      {
        argv: ["/bin/sh", "-c", RUN_WRAPPER(language.runScript(sandbox), request.prelude)],
        stdin: Buffer.from(request.code, "utf8"),
        env: { SANDBOX_FILE: file },
        program: { language: language.name, code: request.code, file, prelude: request.prelude },
        runId,
        cleanupPath: file,
        timeout: request.timeout,
        description: `${language.name} run`,
        ...(request.onStdout ? { onStdout: request.onStdout } : {}),
        ...(request.onStderr ? { onStderr: request.onStderr } : {}),
        ...(request.signal ? { signal: request.signal } : {}),
      },
      { launcher: true },
    );
    if (output.exitCode === CODE_WRITE_FAILED && output.stderr.startsWith("[llm-sandbox] cannot write")) {
      throw new ContainerError(`The sandbox cannot store the code: ${output.stderr.trim()}`);
    }
    const error =
      output.exitCode !== 0
        ? ((await container.outOfMemory(output.exitCode, this.#context.memoryLimitBytes)) ?? language.parseError?.(output.stderr))
        : undefined;
    return ExecutionResult.from(output, error ? { error } : {});
  }
}
