import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync, chmodSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { engineClient } from "@llm-sandbox/core/backends";
import { createCertificateAuthority } from "../../packages/core/src/network/certs.js";

/** The label of upstream containers, so a failed run's can be found. */
export const UPSTREAM_LABEL = "org.llm-sandbox.test-upstream";

/**
 * An upstream for egress tests: a container on the engine's default bridge serving HTTP (80) and HTTPS (443) with a
 * certificate of a test CA for `names`. It never echoes what it received (a secret must not travel back into the
 * sandbox): it answers with hashes, and tells the test what it saw on :8080/seen, which only the host asks.
 */
const SERVER = String.raw`
import hashlib, http.server, json, ssl, sys, threading
seen = []
def digest(text): return hashlib.sha256((text or "").encode()).hexdigest()
class Echo(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def answer(self, body):
        data = json.dumps(body).encode()
        self.send_response(200); self.send_header("content-type", "application/json"); self.send_header("content-length", str(len(data))); self.end_headers(); self.wfile.write(data)
    def handle_any(self):
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length).decode(errors="replace") if length else ""
        if self.server.server_port == 8080:
            return self.answer(seen)
        if self.path.startswith("/bytes/"):
            size = int(self.path.split("/")[2]); chunk = bytes(range(256)) * 256
            self.send_response(200); self.send_header("content-length", str(size)); self.end_headers()
            while size > 0:
                self.wfile.write(chunk[:min(size, len(chunk))]); size -= len(chunk)
            return
        seen.append({"port": self.server.server_port, "method": self.command, "path": self.path, "host": self.headers.get("host"), "authorization": self.headers.get("authorization"), "body": body})
        self.answer({"ok": True, "port": self.server.server_port, "host": self.headers.get("host"), "path_sha256": digest(self.path), "authorization_sha256": digest(self.headers.get("authorization")), "body_sha256": digest(body)})
    do_GET = do_POST = handle_any
    def log_message(self, *args): pass
def serve(port, tls):
    server = http.server.ThreadingHTTPServer(("0.0.0.0", port), Echo)
    if tls:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); context.load_cert_chain("/upstream/cert.pem", "/upstream/key.pem")
        server.socket = context.wrap_socket(server.socket, server_side=True)
    server.serve_forever()
for port, tls in ((80, False), (443, True)): threading.Thread(target=serve, args=(port, tls), daemon=True).start()
serve(8080, False)
`;

export interface Upstream {
  readonly address: string;
  /** The test CA's certificate (PEM): what the proxy (policy caCerts) or the sandbox (extraCaCerts) must trust. */
  readonly ca: string;
  /** What the upstream received so far, read from the host. */
  seen(): Promise<{ port: number; method: string; path: string; host: string; authorization: string | null; body: string }[]>;
  stop(): Promise<void>;
}

export const sha256 = (text: string): string => createHash("sha256").update(text).digest("hex");

export async function startUpstream(names: readonly string[]): Promise<Upstream> {
  const docker = engineClient();
  const dir = mkdtempSync(join(tmpdir(), "llm-sandbox-upstream-"));
  const ca = createCertificateAuthority({ commonName: "llm-sandbox test upstream CA" });
  const leaf = ca.issue(names);
  writeFileSync(join(dir, "server.py"), SERVER);
  writeFileSync(join(dir, "cert.pem"), leaf.certPem);
  writeFileSync(join(dir, "key.pem"), leaf.keyPem);
  chmodSync(dir, 0o755);
  const container = await docker.createContainer({
    Image: "llm-sandbox/python",
    User: "0",
    Cmd: ["python3", "/upstream/server.py"],
    Labels: { [UPSTREAM_LABEL]: "true" },
    HostConfig: { Binds: [`${dir}:/upstream:ro`], AutoRemove: false },
  });
  const stop = async () => {
    await container.remove({ force: true }).catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await container.start();
    const address = ((await container.inspect()).NetworkSettings as unknown as { IPAddress: string }).IPAddress;
    const seen = async () => (await (await fetch(`http://${address}:8080/seen`)).json()) as Awaited<ReturnType<Upstream["seen"]>>;
    for (let tries = 0; ; tries++) {
      try {
        await seen();
        break;
      } catch (error) {
        if (tries > 100) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    return { address, ca: ca.certPem, seen, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
