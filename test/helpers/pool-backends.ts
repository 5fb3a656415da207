import type Docker from "dockerode";
import { engineClient, type SessionOptions } from "@llm-sandbox/core";

/**
 * The engines the pool tests run on. A pool is one implementation above the backend interface, so every engine
 * must pass the same tests: add Podman (`{ name: "podman", options: { backend: "podman", client } }`) and
 * Kubernetes here once their backends exist.
 */
export const POOL_BACKENDS: ReadonlyArray<{ readonly name: string; readonly options: Pick<SessionOptions, "backend" | "client"> }> = [
  { name: "docker", options: {} },
];

/** The Docker-compatible client listing a backend's containers (Docker and Podman). */
export const engineOf = (options: Pick<SessionOptions, "client">): Docker => options.client ?? engineClient();
