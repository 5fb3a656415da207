import { randomBytes } from "node:crypto";
import { engineClient, KubernetesBackend } from "@llm-sandbox/core/backends";
import { labelValue } from "../../packages/core/src/backends/kube-pod.js";
import { LABELS, ownershipLabels } from "../../packages/core/src/internal/labels.js";
import { fixtureApi, suiteFixture } from "../kube-fixture/api.js";
import { sessionContract } from "./session-contract.js";

// The API-server fixture of the suite's set-up: real REST and exec wire protocol, pods run as Docker containers.
const fixture = suiteFixture();
const api = fixtureApi(fixture);
const docker = engineClient();

sessionContract({
  backend: "kubernetes",
  network: "cluster",
  options: (overrides = {}) => ({ backend: "kubernetes", kubeConfig: fixture.kubeconfig, ...overrides }),
  adapter: () => new KubernetesBackend({ kubeConfig: fixture.kubeconfig }),
  async sandboxesOf(sessionId) {
    const pods = await api.listPods(`${LABELS.session}=${sessionId}`);
    if (pods.length) return pods.map((pod) => pod.metadata.name as string);
    // No pod: nothing of one may run either.
    const containers = await docker.listContainers({ all: true, filters: { label: [`${LABELS.session}=${sessionId}`] } });
    return containers.map((c) => `container ${c.Id}`);
  },
  async startExternal() {
    const name = `external-${randomBytes(4).toString("hex")}`;
    const labels = Object.fromEntries(Object.entries(ownershipLabels(name)).map(([k, v]) => [k, labelValue(v)]));
    await api.runPod({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name, labels },
      spec: {
        containers: [
          { name: "main", image: "llm-sandbox/python:latest", command: ["sleep", "infinity"], securityContext: { runAsUser: 1000, runAsGroup: 1000 } },
        ],
      },
    });
    return { id: name, remove: () => api.deletePod(name) };
  },
});
