/** A minimal client for the fixture's REST API, as a cluster administrator (or kubectl) would use it. */
import { inject } from "vitest";

export interface FixtureAccess {
  readonly url: string;
  readonly kubeconfig: string;
  readonly token: string;
  /** Where the fixture's pods reach this host (the address of Docker's bridge), for a pod's hostAliases. */
  readonly hostAddress: string;
}

/** The fixture the suite's global set-up started. */
export const suiteFixture = (): FixtureAccess => inject("kubeFixture");

export const TEST_NAMESPACE = "llm-sandbox-test";

export function fixtureApi(access: FixtureAccess) {
  const call = async (method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> => {
    const res = await fetch(`${access.url}${path}`, {
      method,
      headers: { Authorization: `Bearer ${access.token}`, "Content-Type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, json: await res.json() };
  };
  const pods = `/api/v1/namespaces/${TEST_NAMESPACE}/pods`;
  return {
    call,
    async listPods(labelSelector: string, namespace = TEST_NAMESPACE): Promise<any[]> {
      const { json } = await call("GET", `/api/v1/namespaces/${namespace}/pods?labelSelector=${encodeURIComponent(labelSelector)}`);
      return json.items;
    },
    async readPod(name: string, namespace = TEST_NAMESPACE): Promise<any | undefined> {
      const { status, json } = await call("GET", `/api/v1/namespaces/${namespace}/pods/${name}`);
      return status === 404 ? undefined : json;
    },
    async events(name: string): Promise<any[]> {
      const { json } = await call("GET", `/api/v1/namespaces/${TEST_NAMESPACE}/events?fieldSelector=involvedObject.name=${name}`);
      return json.items;
    },
    /** Creates a pod and waits until it runs. */
    async runPod(manifest: Record<string, any>): Promise<void> {
      const { status, json } = await call("POST", pods, manifest);
      if (status !== 201) throw new Error(`create failed: ${JSON.stringify(json)}`);
      for (let i = 0; i < 300; i++) {
        const pod = (await call("GET", `${pods}/${manifest.metadata.name}`)).json;
        if (pod.status?.phase === "Running") return;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      throw new Error(`pod ${manifest.metadata.name} did not start`);
    },
    /** Deletes a pod at once and waits until it is gone. */
    async deletePod(name: string): Promise<void> {
      await call("DELETE", `${pods}/${name}?gracePeriodSeconds=0`);
      for (let i = 0; i < 300 && (await call("GET", `${pods}/${name}`)).status !== 404; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
  };
}

declare module "vitest" {
  export interface ProvidedContext {
    kubeFixture: FixtureAccess;
  }
}
