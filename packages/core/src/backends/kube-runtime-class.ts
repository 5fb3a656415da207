/**
 * A pod's RuntimeClass the cluster cannot run, said as what to install. It shows in one of two places: the API
 * server's RuntimeClass admission refuses a pod naming a class that does not exist (403), and a node whose container
 * runtime lacks the class's handler leaves the pod Pending with a FailedCreatePodSandBox event (the kubelet retries
 * forever, so waiting would only end in a timeout).
 */
import { MissingDependencyError } from "../errors.js";
import { KubeApiError } from "./kube-client.js";

export interface PodRuntime {
  /** The pod's runtimeClassName. */
  readonly runtimeClass: string;
  /** Asked for as isolation "gvisor" (the class's handler is then runsc). */
  readonly gvisor: boolean;
}

const CLASS_NOT_FOUND = /RuntimeClass "[^"]+" not found/i;
/** containerd's "no runtime for …", CRI-O's and the kubelet's own lookup failures. */
const HANDLER_MISSING = /no runtime for "[^"]+" is configured|RuntimeClass "[^"]+" not found|runtime handler/i;

/** The admission controller's refusal of a pod naming a RuntimeClass that does not exist, else undefined. */
export function missingRuntimeClass(error: unknown, runtime: PodRuntime | undefined): MissingDependencyError | undefined {
  if (!runtime || !(error instanceof KubeApiError) || error.status !== 403 || !CLASS_NOT_FOUND.test(error.message)) return undefined;
  return new MissingDependencyError(`The cluster has no RuntimeClass "${runtime.runtimeClass}" (${error.message}). ${howTo(runtime)}`, { cause: error });
}

/** A node that cannot create the pod's sandbox for want of the class's handler (from the pod's events), else undefined. */
export function missingRuntimeHandler(events: readonly { reason?: string; message: string }[], runtime: PodRuntime | undefined): MissingDependencyError | undefined {
  const failure = runtime && events.find((e) => e.reason === "FailedCreatePodSandBox" && HANDLER_MISSING.test(e.message));
  if (!runtime || !failure) return undefined;
  return new MissingDependencyError(`The node cannot run pods of RuntimeClass "${runtime.runtimeClass}": ${failure.message}. ${howTo(runtime)}`);
}

function howTo({ runtimeClass, gvisor }: PodRuntime): string {
  if (!gvisor) {
    return `Create a RuntimeClass named "${runtimeClass}" whose handler is a runtime the nodes' containerd or CRI-O has configured, or ask for another runtime.`;
  }
  return (
    "Install gVisor on the nodes (runsc and containerd's shim containerd-shim-runsc-v1, with a runtime named runsc in " +
    "containerd's config: https://gvisor.dev/docs/user_guide/containerd/quick_start/), then create the RuntimeClass:\n\n" +
    `apiVersion: node.k8s.io/v1\nkind: RuntimeClass\nmetadata:\n  name: ${runtimeClass}\nhandler: runsc\n`
  );
}
