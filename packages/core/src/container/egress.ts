import type { BackendAdapter } from "../backends/backend.js";
import { CapabilityUnavailableError, ContainerError } from "../errors.js";
import { deferred, within } from "../internal/async.js";
import type { Logger } from "../internal/logger.js";
import { EgressProxy } from "../network/egress-proxy.js";
import { RelayMux } from "../network/mux.js";
import type { ParsedEgressPolicy } from "../network/policy.js";
import { RELAY_PROGRAM } from "../network/relay-program.js";

/** The egress of a container whose network is a policy; a typed error for any other. */
export function egressOf(container: { readonly egress: ContainerEgress | undefined }): ContainerEgress {
  if (container.egress) return container.egress;
  throw new CapabilityUnavailableError(
    "setNetworkPolicy",
    "this session's network is not a policy (runtimeConfigs.network is true, false or a network name)",
    "Open the session (or its pool) with runtimeConfigs.network set to a policy, e.g. { allow: [] }.",
  );
}

/** How long the relay may take to start listening. */
const RELAY_START_MS = 20_000;
/** A relay that ends by itself is started again this many times (then the sandbox stays without network). */
const RELAY_RESTARTS = 3;

/**
 * A relayed container's network: the egress proxy (in this process) and the relay it drives in the sidecar. The
 * relay's exec is held for the container's life; when it breaks off (the engine's connection dropped) it is started
 * again, so the sandbox never silently loses its network.
 */
export class ContainerEgress {
  readonly proxy: EgressProxy;
  readonly #stopped = new AbortController();
  #mux: RelayMux | undefined;
  #restarts = 0;

  private constructor(
    policy: ParsedEgressPolicy,
    private readonly backend: BackendAdapter,
    private readonly logger: Logger,
  ) {
    this.proxy = new EgressProxy(policy);
  }

  /** The proxy for a container about to be created (its environment goes into the container's spec). */
  static prepare(policy: ParsedEgressPolicy, backend: BackendAdapter, logger: Logger): ContainerEgress {
    if (!backend.execRelay) {
      throw new CapabilityUnavailableError(
        "A network policy",
        `the ${backend.kind} backend cannot run the relay sidecar it needs`,
        "Use the docker, podman or kubernetes backend, or runtimeConfigs.network: true/false.",
      );
    }
    return new ContainerEgress(policy, backend, logger);
  }

  /** Starts the relay in the container's sidecar; resolves once it listens. */
  async start(id: string): Promise<void> {
    const ready = deferred<void>();
    const mux = (this.#mux = new RelayMux({
      onConnection: (stream) => this.proxy.onConnection(stream),
      onDnsQuery: (query) => this.proxy.onDnsQuery(query),
      onReady: (_ports, failure) => {
        if (failure) this.logger.warn(`egress relay: cannot listen on ${failure}`);
        ready.resolve();
      },
    }));
    this.proxy.serve(mux);
    let stderr = "";
    const exec = this.backend.execRelay!(id, {
      argv: ["perl", "-e", RELAY_PROGRAM, ...this.proxy.ports.map(String)],
      user: "0",
      stdin: mux.input,
      onStdout: (chunk) => mux.receive(chunk),
      onStderr: (chunk) => (stderr = (stderr + Buffer.from(chunk).toString()).slice(-2000)),
      signal: this.#stopped.signal,
      keepAlive: false,
    });
    const ended = exec.then(
      ({ exitCode }) => `exit code ${exitCode}`,
      (error: unknown) => String(error),
    );
    void ended.then((how) => {
      mux.close();
      const hint = how === "exit code 127" ? " (the relay runs perl from the sandbox's image: use an image that has it)" : "";
      ready.reject(new ContainerError(`The sandbox's network relay did not start (${how})${hint}: ${stderr.trim()}`));
      if (this.#stopped.signal.aborted || this.#mux !== mux) return;
      if (this.#restarts++ >= RELAY_RESTARTS) {
        this.logger.warn(`egress relay ended (${how}) ${RELAY_RESTARTS} times; the sandbox has no network now`);
        return;
      }
      this.logger.warn(`egress relay ended (${how}); starting it again`);
      this.start(id).catch((error: unknown) => this.logger.warn(`egress relay: ${error}`));
    });
    const started = await within(ready.promise.then(() => true), RELAY_START_MS, false);
    if (!started) throw new ContainerError(`The sandbox's network relay did not start within ${RELAY_START_MS / 1000} s`);
  }

  stop(): void {
    this.#stopped.abort();
    this.#mux?.close();
    this.proxy.close();
  }
}
