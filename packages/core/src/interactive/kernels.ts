import { readPackageFile } from "../internal/package-files.js";
import type { KernelChoice } from "../languages/handler.js";
import { findLanguageHandler, languageHandlers } from "../languages/registry.js";
import { KernelType } from "./settings.js";

/** What a kernel is told at start (argv[1], JSON). */
export interface KernelConfig {
  /** A private directory in /tmp for kernels that need one (Node: FIFOs, interrupt target); removed when it exits. */
  readonly dir: string;
  readonly workdir: string;
  readonly historySize: number;
  /** The text of a cell's value is cut beyond this. */
  readonly maxValueChars: number;
  /** A display frame (an image) larger than this is replaced by an error note. */
  readonly maxDisplayBytes: number;
  /** Python: the session's virtualenv, whose packages become importable once it exists. */
  readonly venv?: string;
}

/**
 * How to start one kind of kernel. The kernel's source (a real file under `assets/kernels/`) is the first frame
 * on the exec's stdin; a small boot loader in argv reads and runs it, so nothing has to be uploaded first.
 */
export interface KernelSpec {
  readonly kernelType: KernelType;
  readonly asset: string;
  argv(config: KernelConfig): readonly string[];
}

/** Reads the first frame (the kernel's source) unbuffered from fd 0, so later frames stay in the pipe. */
export const PYTHON_BOOT = `import os
def _read(size):
    data = b""
    while len(data) < size:
        chunk = os.read(0, size - len(data))
        if not chunk:
            raise SystemExit(0)
        data += chunk
    return data
exec(compile(_read(int.from_bytes(_read(5)[1:], "big")), "llm-sandbox-kernel.py", "exec"))`;

const ipython: KernelSpec = {
  kernelType: KernelType.IPYTHON,
  asset: "python.py",
  argv: (config) => [
    "/bin/sh",
    "-c",
    'exec "$(command -v python3 || command -v python)" -u -c "$1" "$2"',
    "kernel",
    PYTHON_BOOT,
    JSON.stringify(config),
  ],
};

/** Node has no dup2: the shell moves the channel to fds 3/4 and points stdout/stderr at FIFOs the kernel reads. */
const NODE_LAUNCH = `mkdir -m 700 -- "$1" && mkfifo -- "$1/stdout" "$1/stderr" || exit 70
exec node --expose-internals --disable-warning=ExperimentalWarning --input-type=module -e "$2" "$3" \\
  3<&0 4>&1 5>&2 0</dev/null 1<>"$1/stdout" 2<>"$1/stderr"`;

/** Reads the kernel's source from fd 3, saves it in the kernel's directory and imports it; failures go to fd 5. */
const NODE_BOOT = `import { readSync, writeFileSync, writeSync } from "node:fs";
const read = (size) => {
  const buffer = Buffer.alloc(size);
  for (let at = 0; at < size; ) {
    const got = readSync(3, buffer, at, size - at, null);
    if (got === 0) process.exit(0);
    at += got;
  }
  return buffer;
};
const { dir } = JSON.parse(process.argv[1]);
writeFileSync(dir + "/kernel.mjs", read(read(5).readUInt32BE(1)));
await import("file://" + dir + "/kernel.mjs").catch((error) => {
  writeSync(5, String(error?.stack ?? error) + "\\n");
  process.exit(70);
});`;

/** The language's `config` joins the kernel's (TypeScript: `typescript: true` strips types from cells first). */
const node = (choice: KernelChoice): KernelSpec => ({
  kernelType: KernelType.NODE,
  asset: "node.mjs",
  argv: (config) => ["/bin/sh", "-c", NODE_LAUNCH, "kernel", config.dir, NODE_BOOT, JSON.stringify({ ...config, ...choice.config })],
});

/** The kernels by the kind a language's handler names (`LanguageHandler.kernel.kind`). */
const KERNELS: Readonly<Record<string, (choice: KernelChoice) => KernelSpec>> = {
  [KernelType.IPYTHON]: () => ipython,
  [KernelType.NODE]: node,
};

/** The kernel for a language, or undefined when interactive sessions do not support it. */
export function kernelFor(language: string): KernelSpec | undefined {
  const choice = findLanguageHandler(language)?.kernel;
  return choice && Object.hasOwn(KERNELS, choice.kind) ? KERNELS[choice.kind]!(choice) : undefined;
}

export const interactiveLanguages = (): string[] => languageHandlers().flatMap((language) => (kernelFor(language.name) ? [language.name] : []));

/** The kernel's source, read once per process. */
export const kernelSource = (spec: KernelSpec): Promise<Buffer> => readPackageFile("assets", "kernels", spec.asset);
