import { posix } from "node:path";
import { PathTraversalError, ValidationError } from "../errors.js";

/** A path inside the sandbox: relative paths are taken from the workdir; `..` is refused outright. */
export function resolveSandboxPath(path: string, workdir: string): string {
  if (!path) throw new ValidationError("path must not be empty");
  if (path.split(/[\\/]/).includes("..")) throw new PathTraversalError(path, "'..' is not allowed in sandbox paths");
  const resolved = posix.normalize(path.startsWith("/") ? path : posix.join(workdir, path));
  if (resolved === "/") throw new ValidationError("the sandbox root '/' cannot be copied");
  return resolved.replace(/\/+$/, "");
}
