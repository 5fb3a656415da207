/**
 * Network mode "relayed" straight through each backend adapter (Docker, Podman, the Kubernetes API-server fixture):
 * the sandbox's namespace holds only loopback, shared with a relay sidecar that `execRelay` reaches and sandbox code
 * cannot see; nothing is left once it is removed or failed to create.
 */
import { randomBytes } from "node:crypto";
import type Docker from "dockerode";
import { ContainerError, SandboxAbortError } from "@llm-sandbox/core";
import { DockerBackend, engineClient, KubernetesBackend, PodmanBackend, podmanClient } from "@llm-sandbox/core/backends";
import { afterAll, describe, expect, it } from "vitest";
import { fixtureApi, suiteFixture, TEST_NAMESPACE } from "../../../../test/kube-fixture/api.js";
import { KEEP_ALIVE_COMMAND } from "../container/process-control.js";
import { LABELS, ownershipLabels } from "../internal/labels.js";
import type { BackendAdapter, ContainerSpec, ExecRequest } from "./backend.js";

const RELAY_TEST = "org.llm-sandbox.test-relay";

interface Target {
  readonly name: string;
  readonly backend: BackendAdapter;
  /** The engine behind it (Docker, Podman), to look at the relay container. */
  readonly engine?: Docker;
  /** What carries the session's label on the engine: containers, pods, network policies. */
  left(session: string): Promise<string[]>;
}

const containersOf = async (docker: ReturnType<typeof engineClient>, session: string) =>
  (await docker.listContainers({ all: true, filters: { label: [`${LABELS.session}=${session}`] } })).map((c) => `container ${c.Id.slice(0, 12)}`);

function kubernetesTarget(): Target {
  const fixture = suiteFixture();
  const api = fixtureApi(fixture);
  const docker = engineClient();
  return {
    name: "kubernetes",
    backend: new KubernetesBackend({ kubeConfig: fixture.kubeconfig }),
    left: async (session) => {
      const selector = encodeURIComponent(`${LABELS.session}=${session}`);
      const policies = await api.call("GET", `/apis/networking.k8s.io/v1/namespaces/${TEST_NAMESPACE}/networkpolicies?labelSelector=${selector}`);
      return [
        ...(await api.listPods(`${LABELS.session}=${session}`)).map((p) => `pod ${p.metadata.name}`),
        ...(policies.json.items as Array<{ metadata: { name: string } }>).map((p) => `networkpolicy ${p.metadata.name}`),
        ...(await containersOf(docker, session)),
      ];
    },
  };
}

const TARGETS: readonly Target[] = [
  { name: "docker", backend: new DockerBackend(engineClient()), engine: engineClient(), left: (session) => containersOf(engineClient(), session) },
  { name: "podman", backend: new PodmanBackend(podmanClient()), engine: podmanClient(), left: (session) => containersOf(podmanClient(), session) },
  kubernetesTarget(),
];

/** A sandbox as the session's secure defaults make one, on network mode "relayed". */
function relayedSpec(session: string, image = "llm-sandbox/base"): ContainerSpec {
  return {
    image,
    init: KEEP_ALIVE_COMMAND,
    user: "1000:1000",
    workdir: "/sandbox",
    env: { HOME: "/tmp" },
    labels: { ...ownershipLabels(session), [LABELS.language]: "bash" },
    memoryBytes: 256 * 1024 ** 2,
    cpus: 1,
    pids: 64,
    readOnlyRootfs: true,
    tmpfs: { "/sandbox": 64 * 1024 ** 2, "/tmp": 64 * 1024 ** 2 },
    network: { mode: "relayed", relay: { image: "llm-sandbox/base", labels: { [LABELS.managed]: "true", [RELAY_TEST]: session } } },
  };
}

/** Runs a command to its end; its output as text. */
async function run(
  exec: (request: ExecRequest) => Promise<{ exitCode: number }>,
  argv: string[],
  extra: Partial<ExecRequest> = {},
): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const { exitCode } = await exec({
    argv,
    onStdout: (chunk) => (stdout += Buffer.from(chunk).toString()),
    onStderr: (chunk) => (stderr += Buffer.from(chunk).toString()),
    ...extra,
  });
  return { exitCode, stdout, stderr };
}

/**
 * The relay's side of the test: listens on 127.0.0.1:80 (TCP) and :53 (UDP), says "ready", answers the first TCP
 * client with the line it reads on stdin (the library's side), then prints the first datagram. "relay-marker" names
 * it in the process table.
 */
const RELAY_PROGRAM = String.raw`
use IO::Socket::INET;
$| = 1;
my $tcp = IO::Socket::INET->new(LocalAddr => "127.0.0.1:80", Listen => 5, ReuseAddr => 1) or die "tcp: $!\n";
my $udp = IO::Socket::INET->new(LocalAddr => "127.0.0.1:53", Proto => "udp") or die "udp: $!\n";
print "ready\n";
my $client = $tcp->accept or die "accept: $!\n";
my $line = <STDIN>;
print $client $line;
close $client;
$udp->recv(my $datagram, 100);
print "udp:$datagram\n";
sleep 600;
`;

/** The sandbox's side: reads the relay's line over TCP, then sends a datagram to the name server's port. */
const SANDBOX_CLIENT = String.raw`
use IO::Socket::INET;
my $tcp = IO::Socket::INET->new(PeerAddr => "127.0.0.1:80", Timeout => 5) or die "connect: $!\n";
print scalar <$tcp>;
my $udp = IO::Socket::INET->new(PeerAddr => "127.0.0.1:53", Proto => "udp") or die "udp: $!\n";
$udp->send("ping") or die "send: $!\n";
`;

/** Raw connects to addresses a sandbox must never reach, each reporting its error. */
const RAW_CONNECTS = String.raw`
use IO::Socket::INET;
for my $peer (@ARGV) {
  my $socket = IO::Socket::INET->new(PeerAddr => $peer, Timeout => 5);
  print "$peer ", ($socket ? "connected" : "failed: $!"), "\n";
}
`;

describe.each(TARGETS)("$name: a relayed sandbox", ({ name, backend, engine, left }) => {
  const session = `relay${randomBytes(4).toString("hex")}`;
  let id: string;
  const sandbox = (argv: string[], extra: Partial<ExecRequest> = {}) => run((r) => backend.exec(id, r), argv, { user: "1000:1000", ...extra });

  it("is created with its relay", { timeout: 120_000 }, async () => {
    id = await backend.create(relayedSpec(session));
    expect(id).toBeTruthy();
  });

  afterAll(async () => {
    if (id) await backend.remove(id);
    expect(await left(session)).toEqual([]);
  });

  it("has a relay that runs as root with only the capability to bind low ports, no new privileges, nothing writable", async () => {
    const relay = await run((r) => backend.execRelay!(id, r), ["sh", "-c", "id -u; grep -E '^(CapBnd|CapEff|NoNewPrivs)' /proc/self/status; touch /x 2>&1 || true"]);
    expect(relay.stdout).toMatch(/^0\nCapEff:\t0000000000000400\nCapBnd:\t0000000000000400\nNoNewPrivs:\t1\n.*Read-only file system/);
  });

  it.skipIf(!engine)("has its relay labelled as the sandbox's owner (the reaper and cleanup sweep it), with small limits", async () => {
    const info = await engine!.getContainer(id).inspect();
    const relayId = info.Config.Labels[LABELS.relay]!;
    expect(info.HostConfig.NetworkMode).toBe(`container:${relayId}`);
    const relay = await engine!.getContainer(relayId).inspect();
    expect(relay.HostConfig).toMatchObject({ ReadonlyRootfs: true, Memory: 128 * 1024 ** 2, PidsLimit: 64 });
    for (const key of [LABELS.owner, LABELS.managed, LABELS.session, LABELS.ownerPid, LABELS.ownerHost]) {
      expect(relay.Config.Labels[key], key).toBe(info.Config.Labels[key]);
    }
    expect(relay.Config.Labels).toMatchObject({ [LABELS.relay]: "true", [RELAY_TEST]: session });
    expect(relay.Config.Labels[LABELS.language]).toBeUndefined();
  });

  it("has only loopback, and 127.0.0.1 as its name server", async () => {
    const dev = await sandbox(["cat", "/proc/net/dev"]);
    const interfaces = dev.stdout.split("\n").slice(2).filter(Boolean).map((line) => line.split(":")[0]!.trim());
    expect(interfaces).toEqual(["lo"]);
    const resolv = await sandbox(["cat", "/etc/resolv.conf"]);
    expect(resolv.stdout.match(/^nameserver\s+\S+/gm)).toEqual(["nameserver 127.0.0.1"]);
  });

  it("cannot reach the host, the cloud metadata, private or public addresses: each connect fails at once", async () => {
    const peers = ["10.0.0.1:80", "172.17.0.1:80", "169.254.169.254:80", "8.8.8.8:53"];
    const started = Date.now();
    const { stdout } = await sandbox(["perl", "-e", RAW_CONNECTS, ...peers]);
    expect(stdout.trim().split("\n")).toEqual(peers.map((peer) => `${peer} failed: Network is unreachable`));
    // Four connects and one exec; a connect that hung would take its 5-second timeout.
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it("cannot bind a low port itself (only the relay may, in the shared namespace)", async () => {
    const bind = await sandbox(["perl", "-MIO::Socket::INET", "-e", 'IO::Socket::INET->new(LocalAddr => "127.0.0.1:80", Listen => 1) or die "bind: $!\\n"']);
    expect(bind.exitCode).not.toBe(0);
    expect(bind.stderr).toBe("bind: Permission denied\n");
  });

  it("reaches what the relay listens on (TCP and UDP), the relay's stdio carrying the data; the relay is invisible", async () => {
    const aborted = new AbortController();
    const closed: unknown[] = [];
    let output = "";
    let fromLibrary: (() => void) | undefined;
    const stdin = (async function* () {
      await new Promise<void>((resolve) => (fromLibrary = resolve));
      yield Buffer.from("hello from the library\n");
      await new Promise(() => {});
    })();
    const ready = new Promise<void>((resolve, reject) => {
      const relay = backend.execRelay!(id, {
        argv: ["perl", "-e", RELAY_PROGRAM, "relay-marker"],
        stdin,
        keepAlive: false,
        signal: aborted.signal,
        onStdout: (chunk) => {
          output += Buffer.from(chunk).toString();
          if (output.includes("ready\n")) resolve();
        },
        onStderr: (chunk) => reject(new Error(`relay: ${Buffer.from(chunk).toString()}`)),
      });
      relay.then(() => reject(new Error(`relay ended: ${output}`)), (error: unknown) => void closed.push(error));
    });
    await ready;
    fromLibrary!();
    const client = await sandbox(["perl", "-e", SANDBOX_CLIENT]);
    expect(client).toMatchObject({ exitCode: 0, stdout: "hello from the library\n" });
    for (let i = 0; i < 50 && !output.includes("udp:"); i++) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(output).toContain("udp:ping\n");

    // Sandbox code sees none of the relay's processes (the relay program runs on until the sandbox is removed).
    const processes = await sandbox(["sh", "-c", "cat /proc/[0-9]*/cmdline | tr '\\0' ' '"]);
    expect(processes.stdout).toContain("cat");
    expect(processes.stdout).not.toContain("relay-marker");
    // The library's signal releases the stream.
    aborted.abort();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(closed.some((error) => SandboxAbortError.isInstance(error))).toBe(true);
  });

  it.skipIf(!engine)("stopped, is started again by attach, relay first; a new adapter finds the relay by the sandbox's label", async () => {
    const relayId = (await engine!.getContainer(id).inspect()).Config.Labels[LABELS.relay]!;
    await engine!.getContainer(id).stop({ t: 0 });
    await engine!.getContainer(relayId).stop({ t: 0 });
    const fresh = name === "docker" ? new DockerBackend(engineClient()) : new PodmanBackend(podmanClient());
    await fresh.attach(id);
    const whoami = await run((r) => fresh.execRelay(id, r), ["id", "-u"]);
    expect(whoami.stdout).toBe("0\n");
    // Loopback is up (a refused connect, not an unreachable network), and still the only interface.
    const probe = await run((r) => fresh.exec(id, r), ["perl", "-e", RAW_CONNECTS, "127.0.0.1:9", "10.0.0.1:80"]);
    expect(probe.stdout).toBe("127.0.0.1:9 failed: Connection refused\n10.0.0.1:80 failed: Network is unreachable\n");
    const dev = await run((r) => fresh.exec(id, r), ["cat", "/proc/net/dev"]);
    expect(dev.stdout.split("\n").slice(2).filter(Boolean).map((line) => line.split(":")[0]!.trim())).toEqual(["lo"]);
  });

  it("execRelay on a sandbox without a relay is a ContainerError", async () => {
    const plain = await backend.create({ ...relayedSpec(session), network: { mode: "none" } });
    try {
      await expect(backend.execRelay!(plain, { argv: ["true"] })).rejects.toSatisfy(ContainerError.isInstance);
    } finally {
      await backend.remove(plain);
    }
  });

  it.skipIf(!engine)("removeSync (at process exit) removes the sandbox, then its relay", async () => {
    const other = `relaysync${randomBytes(4).toString("hex")}`;
    const created = await backend.create(relayedSpec(other));
    backend.removeSync!(created);
    expect(await left(other)).toEqual([]);
  });

  it("a sandbox that cannot be created leaves no relay", async () => {
    const failing = `relayfail${randomBytes(4).toString("hex")}`;
    await expect(backend.create(relayedSpec(failing, "llm-sandbox/not-there:1"))).rejects.toThrow();
    expect(await left(failing)).toEqual([]);
  });
});
