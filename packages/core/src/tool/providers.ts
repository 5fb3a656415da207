import { ArtifactSandboxSession } from "../artifacts/artifact-session.js";
import { plotLanguages } from "../artifacts/capture.js";
import type { LanguageHandler } from "../languages/handler.js";
import { getLanguageHandler, supportedLanguages } from "../languages/registry.js";
import type { ContainerSource } from "../container/source.js";
import type { ParsedSessionOptions, SessionOptions } from "../session/options.js";
import { SandboxSession } from "../session/session.js";

/** Builds the sessions a provider hands out. A plot-capturing or interactive session class plugs in here. */
export type SessionFactory = (options: SessionOptions) => SandboxSession;

/** What the code tool tells the model about its sandbox (see `describeSandboxTool`). */
export interface SandboxInfo {
  readonly languages: readonly LanguageHandler[];
  /** How sessions are reused between tool calls. */
  readonly reuse: "per-call" | "persistent" | "pool";
  /** User code can reach the network: fully, or (with a network policy) at least one allowed host. */
  readonly network: boolean;
  /**
   * With a network policy only (`runtimeConfigs.network: { allow }`): the host patterns user code may reach
   * ("api.github.com", "*.example.com", "db.internal:5432"), those refused even so, and the secrets by variable name
   * with the hosts they are sent to. Never a secret's value: the model must not see it.
   */
  readonly allowedHosts?: readonly string[];
  readonly deniedHosts?: readonly string[];
  readonly secrets?: readonly { readonly name: string; readonly hosts: readonly string[] }[];
  /** The sandbox's isolation tier (`session.info.isolation`; absent: "container"): under gVisor, kernel-specific things differ. */
  readonly isolation?: "container" | "gvisor";
  /** Seconds one call may run. */
  readonly timeoutSeconds: number;
  readonly workdir: string;
  /** Libraries can be installed through the tool's `libraries` field. */
  readonly canInstall: boolean;
  /** The sessions capture plots, so the model is told how to show one. */
  readonly plots: boolean;
}

/**
 * Where the code tool gets its sessions: a fresh one per call (`perCall`), one long-lived session per language
 * (`persistent`), or a pool (anything implementing this interface). The tool only borrows: `withSession` hands out
 * an open session for one call and takes it back afterwards.
 */
export interface SessionProvider extends AsyncDisposable {
  readonly info: SandboxInfo;
  /** `signal` is the call's: a provider that waits for a session (a busy pool) stops waiting when it fires. */
  withSession<T>(language: string, use: (session: SandboxSession) => Promise<T>, options?: { signal?: AbortSignal }): Promise<T>;
  /** Closes every session the provider still holds. */
  close(): Promise<void>;
}

/** Options for every session a provider makes (all session options but `lang`, which each call names). */
export type SessionProviderOptions = Omit<SessionOptions, "lang"> & {
  /** Languages the tool offers; default: every registered language. */
  languages?: readonly string[];
  /** Default: `defaultSessionFactory` (plots captured for Python and R). */
  createSession?: SessionFactory;
  /** The sessions capture plots, so the model is told how to show them. Default: true with the default factory
   * when a language with plot capture is offered. */
  plots?: boolean;
};

/** The default: plot-capturing sessions for languages that have plot capture (Python, R), plain ones otherwise. */
export const defaultSessionFactory: SessionFactory = (options) =>
  plotLanguages().includes(getLanguageHandler(options.lang ?? "python").name) ? new ArtifactSandboxSession(options) : new SandboxSession(options);

/**
 * Validates the options once, up front — by making (not opening) a session of the first language — so configuration
 * mistakes surface before the first tool call, and the model is told the limits the sessions really have.
 */
function prepare(options: SessionProviderOptions, reuse: SandboxInfo["reuse"]) {
  const { languages, createSession = defaultSessionFactory, plots, ...sessionOptions } = options;
  const handlers = [...new Set((languages ?? supportedLanguages()).map((name) => getLanguageHandler(name)))];
  const make = (language: string) => createSession({ ...sessionOptions, lang: getLanguageHandler(language).name });
  const info = describeSessions(make(handlers[0]?.name ?? "python"), handlers, reuse, capturesPlots(plots, options.createSession, handlers));
  return { info, make };
}

/** Whether the model is told how to show plots: as asked, else when the default factory serves a language with plot capture. */
function capturesPlots(plots: boolean | undefined, createSession: SessionFactory | undefined, languages: readonly LanguageHandler[]): boolean {
  return plots ?? (createSession === undefined && languages.some((language) => plotLanguages().includes(language.name)));
}

/** What the model is told, read from a session the provider makes: its options and the limits it enforces. */
function describeSessions(session: SandboxSession, languages: readonly LanguageHandler[], reuse: SandboxInfo["reuse"], plots: boolean): SandboxInfo {
  const { options } = session;
  return {
    languages,
    reuse,
    ...describeNetwork(options.runtimeConfigs.network),
    isolation: session.info.isolation,
    timeoutSeconds: session.limits.executionTimeout,
    workdir: options.workdir,
    canInstall: !options.skipEnvironmentSetup,
    plots,
  };
}

/** The network as the model may know it: a policy's hosts and its secrets' names and hosts, never their values. */
function describeNetwork(network: ParsedSessionOptions["runtimeConfigs"]["network"]): Pick<SandboxInfo, "network" | "allowedHosts" | "deniedHosts" | "secrets"> {
  if (typeof network !== "object") return { network: network !== undefined && network !== false };
  return {
    network: network.allow.length > 0,
    allowedHosts: [...network.allow],
    deniedHosts: [...network.deny],
    secrets: Object.entries(network.secrets).map(([name, secret]) => ({ name, hosts: [...secret.hosts] })),
  };
}

/** A fresh session for every call: nothing leaks from one call to the next. Opening costs a container start. */
export function perCall(options: SessionProviderOptions = {}): SessionProvider {
  const { info, make } = prepare(options, "per-call");
  return sessionPerCall(info, make);
}

/**
 * One long-lived session per language, opened on first use and reused by every call: files in the workdir and
 * installed libraries persist (and variables too, with an interactive session factory). A session that closed
 * itself (e.g. `sessionTimeout`) is replaced on the next call. Close the provider when done.
 */
export function persistent(options: SessionProviderOptions = {}): SessionProvider {
  const { info, make } = prepare(options, "persistent");
  const sessions = new Map<string, Promise<SandboxSession>>();
  const sessionFor = async (language: string): Promise<SandboxSession> => {
    const name = getLanguageHandler(language).name;
    // Check and set without awaiting in between, so concurrent first calls share one session.
    let entry = sessions.get(name);
    if (!entry) {
      const opening = make(name).open();
      sessions.set(name, (entry = opening));
      opening.catch(() => sessions.get(name) === opening && sessions.delete(name));
    }
    const session = await entry;
    if (session.isOpen) return session;
    if (sessions.get(name) === entry) sessions.delete(name);
    return sessionFor(name);
  };
  const close = async () => {
    const all = await Promise.allSettled(sessions.values());
    sessions.clear();
    await closeAll(all.flatMap((s) => (s.status === "fulfilled" ? [s.value] : [])));
  };
  return {
    info,
    withSession: async (language, use) => use(await sessionFor(language)),
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** Options of `pooled`: the sessions' own options (the pool supplies language and container options). */
export type PooledProviderOptions = Omit<SessionOptions, "pool"> & {
  /** Default: `defaultSessionFactory` (plots captured for Python and R). */
  createSession?: SessionFactory;
  /** The sessions capture plots. Default: true with the default factory for a language with plot capture. */
  plots?: boolean;
};

/**
 * Every call borrows a container from a pool (`createPoolManager`): reset to its starting state, so nothing of an
 * earlier call is left (files, processes, plots), and — with a warm interpreter — without interpreter start-up.
 * The pool's language only. A busy pool waits or fails as its `exhaustionStrategy` says; the call's signal stops a
 * wait. `close()` closes the sessions still open; the pool stays yours to close.
 */
export function pooled(pool: ContainerSource, options: PooledProviderOptions = {}): SessionProvider {
  const { createSession = defaultSessionFactory, plots, ...sessionOptions } = options;
  const language = getLanguageHandler(pool.language);
  const make = () => createSession({ ...sessionOptions, pool, lang: language.name });
  return sessionPerCall(describeSessions(make(), [language], "pool", capturesPlots(plots, options.createSession, [language])), make);
}

/** A session made for each call, opened (the call's signal stops a wait for a pooled container) and closed after it. */
function sessionPerCall(info: SandboxInfo, make: (language: string) => SandboxSession): SessionProvider {
  const live = new Set<SandboxSession>();
  return {
    info,
    async withSession(language, use, { signal } = {}) {
      const session = make(language);
      live.add(session);
      try {
        await session.open(signal ? { signal } : {});
        return await use(session);
      } finally {
        live.delete(session);
        await session.close();
      }
    },
    close: () => closeAll(live),
    [Symbol.asyncDispose]: () => closeAll(live),
  };
}

/**
 * Every call runs in one session you already have (its language only), e.g. one you prepared with files. The
 * provider never closes it: `close()` is a no-op and the session stays yours.
 */
export function fromSession(session: SandboxSession, options: { plots?: boolean } = {}): SessionProvider {
  const info = describeSessions(session, [session.language], "persistent", options.plots ?? false);
  return {
    info,
    withSession: (_language, use) => use(session),
    close: async () => {},
    [Symbol.asyncDispose]: async () => {},
  };
}

async function closeAll(sessions: Iterable<SandboxSession>): Promise<void> {
  await Promise.all([...sessions].map((session) => session.close()));
}
