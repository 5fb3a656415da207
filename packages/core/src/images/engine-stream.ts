import { StringDecoder } from "node:string_decoder";
import type Docker from "dockerode";

/** One message of the JSON-lines streams the Engine API answers build, pull and import with. */
export interface EngineMessage {
  stream?: string;
  status?: string;
  id?: string;
  progressDetail?: { current?: number; total?: number };
  error?: string;
  errorDetail?: { code?: number; message?: string };
  aux?: { ID?: string };
}

/** What the builder reports while it works; `image` is the image being made (its tag). */
export interface ImageProgressEvent {
  readonly image: string;
  /** `step`: a Dockerfile step begins (`Step 3/9 : RUN …`); `log`: one line of output; `status`: a phase or pull status. */
  readonly kind: "step" | "log" | "status";
  readonly message: string;
}

export type ImageProgressListener = (event: ImageProgressEvent) => void;

/**
 * Reads a JSON-lines response to its end, calling `onMessage` per object. Written here rather than using
 * `docker.modem.followProgress`, which decodes each chunk on its own (splitting multi-byte characters) and throws
 * from inside a stream listener (an uncaught exception) when a line is not JSON; here such a line is passed on as
 * `{ stream: line }`.
 */
export function followJsonStream(
  stream: NodeJS.ReadableStream,
  onMessage: (message: EngineMessage) => void,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const decoder = new StringDecoder("utf8");
    let buffered = "";
    let settled = false;
    const handle = (line: string) => {
      const text = line.replace(/\r$/, "");
      if (!text.trim()) return;
      let message: EngineMessage;
      try {
        message = JSON.parse(text) as EngineMessage;
      } catch {
        message = { stream: `${text}\n` };
      }
      onMessage(message);
    };
    const finish = (error?: Error) => {
      if (settled) return;
      settled = true;
      if (error) return reject(error);
      buffered += decoder.end();
      if (buffered) handle(buffered);
      resolve();
    };
    stream.on("data", (chunk: Buffer | string) => {
      buffered += typeof chunk === "string" ? chunk : decoder.write(chunk);
      let newline: number;
      while ((newline = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        handle(line);
      }
    });
    stream.on("error", (error: Error) => finish(error));
    stream.on("end", () => finish());
    stream.on("close", () => finish());
  });
}

/** The image's inspect data, or undefined when the engine has no such image. */
export async function inspectImage(docker: Docker, ref: string): Promise<Docker.ImageInspectInfo | undefined> {
  try {
    return await docker.getImage(ref).inspect();
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return undefined;
    throw error;
  }
}

/**
 * Pulls `ref` (tag `latest` when none is given) and resolves once the engine has it. Rejects with the engine's
 * message on failure, or a timeout error after `timeoutMs` (the request is then aborted).
 */
export async function pullImage(
  docker: Docker,
  ref: string,
  options: { timeoutMs?: number; signal?: AbortSignal; onProgress?: ImageProgressListener } = {},
): Promise<void> {
  const signals = [options.signal, options.timeoutMs ? AbortSignal.timeout(options.timeoutMs) : undefined].filter(
    (s): s is AbortSignal => s !== undefined,
  );
  const abortSignal = signals.length ? AbortSignal.any(signals) : undefined;
  let failure: string | undefined;
  try {
    const stream = await docker.pull(ref, abortSignal ? { abortSignal } : {});
    await followJsonStream(stream, (m) => {
      if (m.error || m.errorDetail) failure = m.errorDetail?.message ?? m.error;
      else if (m.status && !m.progressDetail?.current) {
        options.onProgress?.({ image: ref, kind: "status", message: m.id ? `${m.id}: ${m.status}` : m.status });
      }
    });
  } catch (error) {
    if (abortSignal?.aborted && !options.signal?.aborted) {
      throw new Error(`no answer within ${Math.round((options.timeoutMs ?? 0) / 1000)} s`, { cause: error });
    }
    throw error;
  }
  if (failure) throw new Error(failure);
  if (!(await inspectImage(docker, ref))) {
    throw new Error("the pull ended without the image");
  }
}

/** Reports a phase of making `image`: as a progress event when someone listens, else as a log line. */
export function statusReporter(
  image: string,
  options: { readonly logger: { info(message: string): void }; readonly onProgress?: ImageProgressListener },
): (message: string) => void {
  return (message) =>
    options.onProgress
      ? options.onProgress({ image, kind: "status", message })
      : options.logger.info(`${image}: ${message}`);
}
