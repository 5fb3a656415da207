import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import { MissingDependencyError } from "../errors.js";
import { importKubernetes, KubeApiError, kubeRequest, loadKubernetesModule } from "./kube-client.js";

describe("loading @kubernetes/client-node", () => {
  it("a missing @kubernetes/client-node says what to install", async () => {
    const missing = Object.assign(new Error("Cannot find package '@kubernetes/client-node'"), { code: "ERR_MODULE_NOT_FOUND" });
    const error = await importKubernetes(() => Promise.reject(missing)).catch((e: unknown) => e);
    expect(MissingDependencyError.isInstance(error)).toBe(true);
    expect((error as Error).message).toContain("npm install @kubernetes/client-node");
  });

  it("loads the installed package", async () => {
    expect(typeof (await loadKubernetesModule()).KubeConfig).toBe("function");
  });
});

describe("kubeRequest: retries only what may be sent twice", async () => {
  const seen: string[] = [];
  let failures = 0;
  const server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    if (req.url?.startsWith("/flaky") && failures-- > 0) {
      res.writeHead(503).end(JSON.stringify({ kind: "Status", status: "Failure", reason: "ServiceUnavailable", message: "etcd is busy" }));
      return;
    }
    if (req.url?.startsWith("/missing")) {
      res.writeHead(404).end(JSON.stringify({ kind: "Status", status: "Failure", reason: "NotFound", message: 'pods "x" not found' }));
      return;
    }
    res.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify({ ok: true, method: req.method }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  afterAll(() => new Promise((resolve) => server.close(resolve)));
  const config = {
    getCurrentCluster: () => ({ server: `http://127.0.0.1:${(server.address() as AddressInfo).port}/` }),
    applyToHTTPSOptions: async () => {},
  } as never;

  it("an idempotent request is retried on 503, with the query sent", async () => {
    seen.length = 0;
    failures = 2;
    expect(await kubeRequest(config, { method: "GET", path: "/flaky", query: { a: "b c" }, idempotent: true })).toEqual({ ok: true, method: "GET" });
    expect(seen).toEqual(["GET /flaky?a=b+c", "GET /flaky?a=b+c", "GET /flaky?a=b+c"]);
  });

  it("a request that is not idempotent is sent once", async () => {
    seen.length = 0;
    failures = 1;
    const error = await kubeRequest(config, { method: "POST", path: "/flaky", body: {}, idempotent: false }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KubeApiError);
    expect(error).toMatchObject({ status: 503, reason: "ServiceUnavailable", message: "etcd is busy" });
    expect(seen).toEqual(["POST /flaky"]);
  });

  it("a 404 is not retried, and carries the server's Status", async () => {
    seen.length = 0;
    await expect(kubeRequest(config, { method: "GET", path: "/missing", idempotent: true })).rejects.toMatchObject({
      status: 404,
      reason: "NotFound",
      message: 'pods "x" not found',
    });
    expect(seen).toEqual(["GET /missing"]);
  });
});
