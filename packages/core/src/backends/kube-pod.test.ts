import { describe, expect, it } from "vitest";
import { ValidationError } from "../errors.js";
import type { ContainerSpec } from "./backend.js";
import { LEASE_ANNOTATION } from "./kube-lease.js";
import { DEADLINE_SLACK_SECONDS, labelValue, numericUser, planPod, podProgress } from "./kube-pod.js";

const spec: ContainerSpec = {
  image: "llm-sandbox/python:latest",
  init: ["/bin/sh", "-c", "while :; do sleep 1; done", "keep-alive"],
  user: "1000:1000",
  workdir: "/sandbox",
  env: { HOME: "/tmp", A: "ours" },
  labels: { "org.llm-sandbox.session": "abc", "org.llm-sandbox.owner-host": "host_with:odd chars" },
  memoryBytes: 1024 ** 3,
  cpus: 0.5,
  pids: 256,
  readOnlyRootfs: true,
  tmpfs: { "/sandbox": 1024 ** 3, "/tmp": 512 * 1024 ** 2 },
  network: { mode: "none" },
};
const plan = (podManifest?: Record<string, unknown>, envVars?: Record<string, string>, podSpec: ContainerSpec = spec) =>
  planPod({ name: "pod-1", createId: "c1", namespace: "ns", spec: podSpec, leaseSeconds: 120, ...(podManifest ? { podManifest } : {}), ...(envVars ? { envVars } : {}) });

describe("planPod: secure defaults", () => {
  const { manifest, container } = plan();
  const podSpec = manifest.spec as any;

  it("runs the sandbox container non-root, without privileges, with a read-only root and limits", () => {
    expect(container).toBe("sandbox");
    expect(podSpec.securityContext).toEqual({ runAsUser: 1000, runAsGroup: 1000, runAsNonRoot: true, fsGroup: 1000, seccompProfile: { type: "RuntimeDefault" } });
    expect(podSpec.automountServiceAccountToken).toBe(false);
    const [sandbox] = podSpec.containers;
    expect(sandbox.securityContext).toEqual({ allowPrivilegeEscalation: false, privileged: false, capabilities: { drop: ["ALL"] }, readOnlyRootFilesystem: true });
    expect(sandbox.resources).toEqual({ limits: { cpu: "500m", memory: String(1024 ** 3) }, requests: { cpu: "100m", memory: String(256 * 1024 ** 2) } });
    expect(sandbox.env).toEqual([{ name: "HOME", value: "/tmp" }, { name: "A", value: "ours" }]);
    expect(sandbox.workingDir).toBe("/sandbox");
    // The lifecycle's first process, unless the manifest brings its own (below).
    expect(sandbox.command).toEqual(spec.init);
  });

  it("mounts size-limited in-memory volumes, seeded by an init container from the image", () => {
    expect(podSpec.volumes).toEqual([
      { name: "llm-sandbox-fs-0", emptyDir: { medium: "Memory", sizeLimit: String(1024 ** 3) } },
      { name: "llm-sandbox-fs-1", emptyDir: { medium: "Memory", sizeLimit: String(512 * 1024 ** 2) } },
    ]);
    expect(podSpec.containers[0].volumeMounts).toEqual([
      { name: "llm-sandbox-fs-0", mountPath: "/sandbox" },
      { name: "llm-sandbox-fs-1", mountPath: "/tmp" },
    ]);
    const [seed] = podSpec.initContainers;
    expect(seed.image).toBe(spec.image);
    expect(seed.volumeMounts.map((m: any) => m.mountPath)).toEqual(["/llm-sandbox-seed/sandbox", "/llm-sandbox-seed/tmp"]);
    expect(seed.command.slice(-2)).toEqual(["/sandbox", "/tmp"]);
  });

  it("labels it with valid label values, names and places it", () => {
    const metadata = manifest.metadata as any;
    expect(metadata).toMatchObject({ name: "pod-1", namespace: "ns" });
    expect(metadata.labels).toEqual({ "org.llm-sandbox.session": "abc", "org.llm-sandbox.owner-host": "host_with-odd-chars" });
    const { [LEASE_ANNOTATION]: lease, ...annotations } = metadata.annotations;
    expect(annotations).toEqual({ "kubectl.kubernetes.io/default-container": "sandbox", "org.llm-sandbox.create-id": "c1" });
    // The owner's first lease: about 120 s from now.
    expect(Date.parse(lease) - Date.now()).toBeGreaterThan(110_000);
    expect(Date.parse(lease) - Date.now()).toBeLessThanOrEqual(120_000);
  });

  it("gives the pod a deadline past the session's lifetime only when it has one", () => {
    expect(podSpec.activeDeadlineSeconds).toBeUndefined();
    const limited = plan(undefined, undefined, { ...spec, lifetimeSeconds: 30.5 }).manifest.spec as any;
    expect(limited.activeDeadlineSeconds).toBe(31 + DEADLINE_SLACK_SECONDS);
  });
});

describe("planPod: podManifest merged over the defaults", () => {
  it("merges the user's first container into ours, key by key, and keeps the other containers", () => {
    const { manifest, container } = plan({
      spec: {
        containers: [
          { name: "main", resources: { limits: { memory: "512Mi" } }, env: [{ name: "A", value: "theirs" }, { name: "B", value: "b" }] },
          { name: "sidecar", image: "busybox" },
        ],
      },
    });
    const [main, sidecar] = (manifest.spec as any).containers;
    expect(container).toBe("main");
    expect(main.name).toBe("main");
    expect(main.image).toBe(spec.image);
    expect(main.resources.limits).toEqual({ cpu: "500m", memory: "512Mi" });
    expect(main.env).toEqual([{ name: "HOME", value: "/tmp" }, { name: "A", value: "theirs" }, { name: "B", value: "b" }]);
    expect(main.securityContext.capabilities).toEqual({ drop: ["ALL"] });
    expect(sidecar).toEqual({ name: "sidecar", image: "busybox" });
  });

  it("the container named 'sandbox' is the sandbox wherever it is; envVars join the environment", () => {
    const { manifest, container } = plan({ spec: { containers: [{ name: "proxy", image: "envoy" }, { name: "sandbox", workingDir: "/work" }] } }, { V: "1" });
    const containers = (manifest.spec as any).containers;
    expect(container).toBe("sandbox");
    expect(containers[0]).toEqual({ name: "proxy", image: "envoy" });
    expect(containers[1].workingDir).toBe("/work");
    expect(containers[1].env).toContainEqual({ name: "V", value: "1" });
  });

  it("keeps the user's command, metadata.name and pod-level settings; our labels win", () => {
    const { manifest } = plan({
      metadata: { name: "fixed", labels: { "org.llm-sandbox.session": "forged", team: "a" }, annotations: { "org.llm-sandbox.create-id": "forged", note: "n" } },
      spec: { containers: [{ command: ["/init"] }], nodeSelector: { pool: "sandboxes" }, securityContext: { runAsUser: 2000 } },
    });
    const metadata = manifest.metadata as any;
    const podSpec = manifest.spec as any;
    expect(metadata.name).toBe("fixed");
    expect(metadata.labels).toMatchObject({ "org.llm-sandbox.session": "abc", team: "a" });
    expect(metadata.annotations).toMatchObject({ "org.llm-sandbox.create-id": "c1", note: "n" });
    expect(podSpec.containers[0].command).toEqual(["/init"]);
    expect(podSpec.nodeSelector).toEqual({ pool: "sandboxes" });
    expect(podSpec.securityContext).toMatchObject({ runAsUser: 2000, runAsNonRoot: true });
  });

  it("refuses a manifest whose lists are not lists of objects", () => {
    expect(() => plan({ spec: { containers: "main" } })).toThrow(ValidationError);
    expect(() => plan({ spec: { volumes: [1] } })).toThrow(/spec.volumes must be a list of objects/);
  });
});

describe("numericUser and labelValue", () => {
  it("numericUser reads uid[:gid] and refuses names", () => {
    expect(numericUser("1000")).toEqual({ uid: 1000, gid: 1000 });
    expect(numericUser("0:5")).toEqual({ uid: 0, gid: 5 });
    expect(() => numericUser("sandbox")).toThrow(/numeric user/);
  });

  it("labelValue keeps valid values and mends others", () => {
    expect(labelValue("abc-1.2_x")).toBe("abc-1.2_x");
    expect(labelValue("-a b-")).toBe("a-b");
    expect(labelValue("x".repeat(80))).toHaveLength(63);
  });
});

describe("podProgress", () => {
  const running = { status: { phase: "Running", containerStatuses: [{ name: "sandbox", state: { running: {} } }] } };

  it("running once the sandbox container runs", () => {
    expect(podProgress(running, "sandbox")).toEqual({ state: "running" });
    expect(podProgress({ status: { phase: "Running", containerStatuses: [{ name: "sandbox", state: { waiting: { reason: "ContainerCreating" } } }] } }, "sandbox").state).toBe("waiting");
  });

  it("fails for good on image and configuration errors, naming the image", () => {
    const pod = {
      spec: { containers: [{ name: "sandbox", image: "x:1" }] },
      status: { phase: "Pending", containerStatuses: [{ name: "sandbox", state: { waiting: { reason: "ImagePullBackOff", message: "Back-off" } } }] },
    };
    expect(podProgress(pod, "sandbox")).toEqual({ state: "failed", image: "x:1", message: "container sandbox: ImagePullBackOff: Back-off" });
    const config = { status: { phase: "Pending", initContainerStatuses: [{ name: "seed", state: { waiting: { reason: "CreateContainerConfigError", message: "bad" } } }] } };
    expect(podProgress(config, "sandbox")).toMatchObject({ state: "failed", message: "init container seed: CreateContainerConfigError: bad" });
    const initFailed = { status: { phase: "Pending", initContainerStatuses: [{ name: "seed", state: { terminated: { exitCode: 2 } } }] } };
    expect(podProgress(initFailed, "sandbox")).toMatchObject({ state: "failed", message: "init container seed ended (exit code 2)" });
    expect(podProgress({ status: { phase: "Failed", reason: "Evicted" } }, "sandbox")).toMatchObject({ state: "failed", message: "pod Failed (Evicted)" });
  });

  it("keeps waiting through ErrImagePull (the kubelet retries) and scheduling, saying why", () => {
    const pulling = { status: { phase: "Pending", containerStatuses: [{ name: "sandbox", state: { waiting: { reason: "ErrImagePull" } } }] } };
    expect(podProgress(pulling, "sandbox")).toEqual({ state: "waiting", message: "phase Pending; waiting: ErrImagePull" });
    const unscheduled = { status: { phase: "Pending", conditions: [{ type: "PodScheduled", status: "False", reason: "Unschedulable", message: "0/3 nodes" }] } };
    expect(podProgress(unscheduled, "sandbox")).toEqual({ state: "waiting", message: "phase Pending; not scheduled: Unschedulable 0/3 nodes" });
  });
});

describe("planPod: network mode relayed", () => {
  const relayed: ContainerSpec = { ...spec, network: { mode: "relayed", relay: { image: "llm-sandbox/base", labels: { "org.llm-sandbox.managed": "true" } } } };
  // A manifest that would undo the mode: its own containers list, DNS and a shared process namespace.
  const manifestOver = { spec: { dnsPolicy: "ClusterFirst", shareProcessNamespace: true, containers: [{ name: "sandbox", image: "their/image" }] } };
  const { manifest, container, policy } = plan(manifestOver, undefined, relayed);
  const podSpec = manifest.spec as any;

  it("adds the relay container and makes the relay the name server, over the manifest", () => {
    expect(container).toBe("sandbox");
    expect(podSpec.containers.map((c: { name: string }) => c.name)).toEqual(["sandbox", "relay"]);
    expect(podSpec.containers[1]).toMatchObject({ image: "llm-sandbox/base", command: spec.init });
    expect(podSpec.containers[1].securityContext.capabilities).toEqual({ drop: ["ALL"], add: ["NET_BIND_SERVICE"] });
    expect(podSpec.dnsPolicy).toBe("None");
    expect(podSpec.dnsConfig).toEqual({ nameservers: ["127.0.0.1"], options: [{ name: "ndots", value: "0" }] });
    expect(podSpec.shareProcessNamespace).toBe(false);
    expect(podSpec.securityContext.sysctls).toEqual([{ name: "net.ipv4.ip_unprivileged_port_start", value: "1024" }]);
  });

  it("plans a deny-all-egress NetworkPolicy named as the pod, selecting it by labels it carries", () => {
    const labels = (manifest.metadata as any).labels;
    expect(policy).toMatchObject({ apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata: { name: "pod-1", namespace: "ns" } });
    expect((policy as any).spec).toEqual({ podSelector: { matchLabels: { "org.llm-sandbox.relay": "c1", "org.llm-sandbox.session": "abc" } }, policyTypes: ["Egress"], egress: [] });
    expect(labels).toMatchObject((policy as any).spec.podSelector.matchLabels);
    expect((policy as any).metadata.labels).toMatchObject({ "org.llm-sandbox.session": "abc", "org.llm-sandbox.managed": "true" });
  });

  it("plans no policy and no relay for the other modes", () => {
    expect(plan().policy).toBeUndefined();
    expect((plan().manifest.spec as any).containers.map((c: { name: string }) => c.name)).toEqual(["sandbox"]);
  });
});

describe("planPod: the RuntimeClass (isolation tiers)", () => {
  const classOf = (podSpec: Partial<ContainerSpec>, podManifest?: Record<string, unknown>) => {
    const { manifest, runtimeClass } = plan(podManifest, undefined, { ...spec, ...podSpec });
    expect((manifest.spec as any).runtimeClassName).toBe(runtimeClass);
    return runtimeClass;
  };

  it("names none for isolation container without a runtime (the cluster's default runtime)", () => {
    expect(classOf({})).toBeUndefined();
    expect(classOf({ isolation: "container" })).toBeUndefined();
    expect("runtimeClassName" in (plan().manifest.spec as object)).toBe(false);
  });

  it("isolation gvisor runs the pod with the RuntimeClass gvisor, or the one `runtime` names", () => {
    expect(classOf({ isolation: "gvisor" })).toBe("gvisor");
    expect(classOf({ isolation: "gvisor", runtime: "gvisor-ptrace" })).toBe("gvisor-ptrace");
    expect(classOf({ isolation: "container", runtime: "kata" })).toBe("kata");
  });

  it("takes the podManifest's runtimeClassName when the session asks for none, or the same one", () => {
    expect(classOf({}, { spec: { runtimeClassName: "kata" } })).toBe("kata");
    expect(classOf({ isolation: "gvisor" }, { spec: { runtimeClassName: "gvisor" } })).toBe("gvisor");
  });

  it("refuses a podManifest whose runtimeClassName differs from the one the session asks for", () => {
    expect(() => plan({ spec: { runtimeClassName: "kata" } }, undefined, { ...spec, isolation: "gvisor" })).toThrow(ValidationError);
    expect(() => plan({ spec: { runtimeClassName: "kata" } }, undefined, { ...spec, runtime: "gvisor" })).toThrow(/runtimeConfigs\.runtime/);
    expect(() => plan({ spec: { runtimeClassName: 3 } })).toThrow(/must be a non-empty string/);
  });

  it("keeps the RuntimeClass in a relayed pod (the relay runs in the pod's sandbox too)", () => {
    const relayed: ContainerSpec = { ...spec, isolation: "gvisor", network: { mode: "relayed", relay: { image: "llm-sandbox/base", labels: {} } } };
    expect((plan(undefined, undefined, relayed).manifest.spec as any).runtimeClassName).toBe("gvisor");
  });
});
