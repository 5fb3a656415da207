/**
 * The connection to a Kubernetes API server: @kubernetes/client-node (an optional peer dependency, loaded on first
 * use) finds the cluster and credentials and opens exec WebSockets; REST calls are plain JSON over its agent, so
 * a manifest reaches the server as written (the client's typed models drop fields they do not know) and the
 * server validates it strictly.
 */
import { existsSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import { homedir } from "node:os";
import { join } from "node:path";
import { EngineUnavailableError, MissingDependencyError, ValidationError } from "../errors.js";

type KubernetesModule = typeof import("@kubernetes/client-node");
type KubeConfig = import("@kubernetes/client-node").KubeConfig;

const PACKAGE = "@kubernetes/client-node";
const IN_CLUSTER_TOKEN = "/var/run/secrets/kubernetes.io/serviceaccount/token";

let loading: Promise<KubernetesModule> | undefined;

/** The client package (imported once), or a MissingDependencyError that says how to install it. */
export function loadKubernetesModule(): Promise<KubernetesModule> {
  loading ??= importKubernetes(() => import(PACKAGE)).catch((error: unknown) => {
    loading = undefined;
    throw error;
  });
  return loading;
}

export async function importKubernetes(load: () => Promise<KubernetesModule>): Promise<KubernetesModule> {
  try {
    return await load();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND") {
      throw new MissingDependencyError(
        `The kubernetes backend needs the package ${PACKAGE} (an optional peer dependency): npm install ${PACKAGE}`,
        { cause: error },
      );
    }
    throw error;
  }
}

export interface KubeTarget {
  readonly config: KubeConfig;
  readonly namespace: string;
  readonly module: KubernetesModule;
}

export interface KubeConnectOptions {
  readonly kubeConfig?: string | object;
  readonly kubeContext?: string;
  readonly namespace?: string;
}

/**
 * The cluster, found as kubectl finds it: the `kubeConfig` given (a path or a KubeConfig), else $KUBECONFIG (a list
 * of files, merged), else ~/.kube/config, else the in-cluster service account. The namespace: the option, else the
 * context's (in a cluster: the pod's own), else "default".
 */
export async function connectKube(options: KubeConnectOptions, env: NodeJS.ProcessEnv = process.env): Promise<KubeTarget> {
  const module = await loadKubernetesModule();
  let config: KubeConfig;
  // A KubeConfig is taken by shape: the caller's may come from another copy of the package.
  if (typeof options.kubeConfig === "object") config = options.kubeConfig as KubeConfig;
  else {
    config = new module.KubeConfig();
    if (typeof options.kubeConfig === "string") {
      if (!existsSync(options.kubeConfig)) throw new ValidationError(`kubeConfig: no file ${options.kubeConfig}`);
      config.loadFromFile(options.kubeConfig);
    } else if (env.KUBECONFIG || existsSync(join(homedir(), ".kube", "config"))) {
      config.loadFromDefault();
    } else if (env.KUBERNETES_SERVICE_HOST && existsSync(IN_CLUSTER_TOKEN)) {
      config.loadFromCluster();
    } else {
      throw new EngineUnavailableError(
        "No Kubernetes cluster is configured: set KUBECONFIG, create ~/.kube/config, pass the kubeConfig option, " +
          "or run inside a cluster (with a service account)",
      );
    }
  }
  if (options.kubeContext) {
    const names = config.getContexts().map((context) => context.name);
    if (!names.includes(options.kubeContext)) {
      throw new ValidationError(`kubeContext: no context ${options.kubeContext} in the kubeconfig (there are: ${names.join(", ")})`);
    }
    config.setCurrentContext(options.kubeContext);
  }
  if (!config.getCurrentCluster()) throw new ValidationError("The kubeconfig's current context names no cluster");
  const namespace = options.namespace ?? config.getContextObject(config.getCurrentContext())?.namespace ?? "default";
  return { config, namespace, module };
}

/** The REST path of a namespace's pods, or of one pod. */
export const podsPath = (namespace: string): string => `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods`;
export const podPath = (namespace: string, name: string): string => `${podsPath(namespace)}/${encodeURIComponent(name)}`;

/** A failed API call: the HTTP status and the server's `metav1.Status` reason and message. */
export class KubeApiError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

/** Errors after which a request may be sent again. */
const RETRY_STATUS = new Set([429, 500, 502, 503, 504]);
const RETRY_CODES = new Set(["ECONNRESET", "ECONNREFUSED", "ETIMEDOUT", "EPIPE", "EAI_AGAIN", "ENOTFOUND"]);
const ATTEMPTS = 4;

export interface KubeRequest {
  readonly method: "GET" | "POST" | "PATCH" | "DELETE";
  readonly path: string;
  readonly query?: Readonly<Record<string, string | number | undefined>>;
  readonly body?: unknown;
  /**
   * Whether sending it twice is harmless. GET and DELETE are; a create is only when a repeat can be recognised
   * (the caller checks a 409 for its own object). Connection refusals are retried always (nothing was sent).
   */
  readonly idempotent: boolean;
}

/** One REST call with JSON in and out, retried (with backoff) only where that is safe. */
export async function kubeRequest<T>(config: KubeConfig, request: KubeRequest): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await sendOnce<T>(config, request);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const status = error instanceof KubeApiError ? error.status : undefined;
      const retriable =
        code === "ECONNREFUSED" || (request.idempotent && ((code && RETRY_CODES.has(code)) || (status && RETRY_STATUS.has(status))));
      if (!retriable || attempt >= ATTEMPTS) throw error;
      await new Promise((resolve) => setTimeout(resolve, 250 * 2 ** (attempt - 1)));
    }
  }
}

async function sendOnce<T>(config: KubeConfig, request: KubeRequest): Promise<T> {
  const server = config.getCurrentCluster()!.server;
  const url = new URL(server.replace(/\/+$/, "") + request.path);
  for (const [key, value] of Object.entries(request.query ?? {})) if (value !== undefined) url.searchParams.set(key, String(value));
  const options: https.RequestOptions = { method: request.method, headers: { Accept: "application/json" } };
  // Credentials (tokens, exec plugins, client certificates) and the cluster's CA, as the client applies them.
  await config.applyToHTTPSOptions(options);
  const body = request.body === undefined ? undefined : Buffer.from(JSON.stringify(request.body));
  // A PATCH body is a JSON merge patch (RFC 7386): what it names is set, null removes.
  const type = request.method === "PATCH" ? "application/merge-patch+json" : "application/json";
  if (body) options.headers = { ...options.headers, "Content-Type": type, "Content-Length": body.length };
  return new Promise<T>((resolve, reject) => {
    const send = url.protocol === "https:" ? https.request : http.request;
    const req = send(url, options, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("error", reject);
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        let json: unknown;
        try {
          json = text ? JSON.parse(text) : undefined;
        } catch {
          json = undefined;
        }
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) return resolve(json as T);
        const failure = (json ?? {}) as { reason?: string; message?: string };
        reject(new KubeApiError(status, failure.reason ?? "", failure.message ?? (text.slice(0, 300) || `HTTP ${status}`)));
      });
    });
    req.setTimeout(30_000, () => req.destroy(Object.assign(new Error("no answer within 30 s"), { code: "ETIMEDOUT" })));
    req.on("error", reject);
    req.end(body);
  });
}
