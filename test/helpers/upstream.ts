import { createHash } from "node:crypto";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { engineClient } from "@llm-sandbox/core/backends";
import { createCertificateAuthority } from "../../packages/core/src/network/certs.js";

/** The label of upstream containers, so a failed run's can be found. */
export const UPSTREAM_LABEL = "org.llm-sandbox.test-upstream";

/** The upstream's program (test/fixtures/upstream-server.py, shared with the egress benchmark). */
const SERVER = readFileSync(new URL("../fixtures/upstream-server.py", import.meta.url), "utf8");

export interface Upstream {
  readonly address: string;
  /** The test CA's certificate (PEM): what the proxy (policy caCerts) or the sandbox (extraCaCerts) must trust. */
  readonly ca: string;
  /** What the upstream received so far, read from the host. */
  seen(): Promise<{ port: number; method: string; path: string; host: string; authorization: string | null; body: string }[]>;
  stop(): Promise<void>;
}

export const sha256 = (text: string): string => createHash("sha256").update(text).digest("hex");

/**
 * An upstream for egress tests: a container on the engine's default bridge running that program with a certificate
 * of a test CA for `names`; what it saw is read from the host on :8080/seen.
 */
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
