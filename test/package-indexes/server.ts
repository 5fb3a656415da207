/**
 * A static HTTP server for the local package indexes: files under `root`, a directory answered by its index.html
 * or index.json, and `__BASE_URL__` in JSON replaced by the URL the client used (npm needs absolute tarball URLs,
 * and sandboxes reach the host under another name than the tests do). `GET /__requests` lists the paths asked for
 * so far, so tests can see whether an installer went to the index at all.
 */
import { createServer, type Server } from "node:http";
import { readFile, stat } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { extname, join, normalize, sep } from "node:path";

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".json": "application/json",
  ".xml": "application/xml",
  ".info": "application/json",
  ".mod": "text/plain; charset=utf-8",
  ".zip": "application/zip",
  ".tgz": "application/octet-stream",
  ".gz": "application/octet-stream",
  ".jar": "application/java-archive",
};

export interface IndexServer {
  readonly port: number;
  close(): Promise<void>;
}

/** Listens on all interfaces (sandboxes come from a bridge network) on a free port. */
export async function startIndexServer(root: string): Promise<IndexServer> {
  const requests: string[] = [];
  const server: Server = createServer(async (request, response) => {
    const path = decodeURIComponent(new URL(request.url ?? "/", "http://x").pathname);
    if (path === "/__requests") {
      response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(requests));
      return;
    }
    requests.push(path);
    const file = await resolveFile(root, path);
    if (!file || (request.method !== "GET" && request.method !== "HEAD")) {
      response.writeHead(file ? 405 : 404, { "content-type": "text/plain" }).end(file ? "method not allowed\n" : "not found\n");
      return;
    }
    let body = await readFile(file);
    if (file.endsWith(".json")) body = Buffer.from(body.toString("utf8").replaceAll("__BASE_URL__", `http://${request.headers.host}`));
    response.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream", "content-length": body.length });
    response.end(request.method === "HEAD" ? undefined : body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "0.0.0.0", resolve);
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The file for a request path, never outside `root`; a directory stands for its index file. */
async function resolveFile(root: string, path: string): Promise<string | undefined> {
  const candidate = normalize(join(root, path));
  if (candidate !== root && !candidate.startsWith(root + sep)) return undefined;
  const info = await stat(candidate).catch(() => undefined);
  if (info?.isFile()) return candidate;
  if (!info?.isDirectory()) return undefined;
  for (const index of ["index.html", "index.json"]) {
    if ((await stat(join(candidate, index)).catch(() => undefined))?.isFile()) return join(candidate, index);
  }
  return undefined;
}
