import { describe, expect, it } from "vitest";
import { MissingDependencyError } from "../errors.js";
import { KubeApiError } from "./kube-client.js";
import { missingRuntimeClass, missingRuntimeHandler } from "./kube-runtime-class.js";

const gvisor = { runtimeClass: "gvisor", gvisor: true };
// The RuntimeClass admission controller's answer, as the API server words it.
const refused = new KubeApiError(403, "Forbidden", 'pods "p" is forbidden: pod rejected: RuntimeClass "gvisor" not found');

describe("missingRuntimeClass", () => {
  it("turns the admission's 403 into what to install, with the RuntimeClass to create", () => {
    const error = missingRuntimeClass(refused, gvisor);
    expect(MissingDependencyError.isInstance(error)).toBe(true);
    expect(error!.message).toContain('The cluster has no RuntimeClass "gvisor"');
    expect(error!.message).toContain("Install gVisor on the nodes");
    expect(error!.message).toContain("kind: RuntimeClass\nmetadata:\n  name: gvisor\nhandler: runsc\n");
  });

  it("for another runtime, says to create its class without naming gVisor", () => {
    const error = missingRuntimeClass(new KubeApiError(403, "Forbidden", 'pod rejected: RuntimeClass "kata" not found'), { runtimeClass: "kata", gvisor: false });
    expect(error!.message).toContain('Create a RuntimeClass named "kata"');
    expect(error!.message).not.toContain("gVisor");
  });

  it("leaves other errors alone", () => {
    expect(missingRuntimeClass(new KubeApiError(403, "Forbidden", "pods is forbidden: User cannot create"), gvisor)).toBeUndefined();
    expect(missingRuntimeClass(refused, undefined)).toBeUndefined();
    expect(missingRuntimeClass(new Error('RuntimeClass "gvisor" not found'), gvisor)).toBeUndefined();
  });
});

describe("missingRuntimeHandler", () => {
  it("finds the kubelet's FailedCreatePodSandBox for a handler the node lacks", () => {
    const events = [
      { reason: "Scheduled", message: "Successfully assigned" },
      { reason: "FailedCreatePodSandBox", message: 'Failed to create pod sandbox: rpc error: code = Unknown desc = failed to get sandbox runtime: no runtime for "runsc" is configured' },
    ];
    const error = missingRuntimeHandler(events, gvisor);
    expect(MissingDependencyError.isInstance(error)).toBe(true);
    expect(error!.message).toContain('no runtime for "runsc" is configured');
    expect(error!.message).toContain("handler: runsc");
  });

  it("ignores other sandbox failures and pods without a RuntimeClass", () => {
    expect(missingRuntimeHandler([{ reason: "FailedCreatePodSandBox", message: "failed to setup network for sandbox" }], gvisor)).toBeUndefined();
    expect(missingRuntimeHandler([{ reason: "FailedCreatePodSandBox", message: 'no runtime for "runsc" is configured' }], undefined)).toBeUndefined();
  });
});
