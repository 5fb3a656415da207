import { afterEach, describe, expect, it, vi } from "vitest";
import { LEASE_ANNOTATION, leaseAnnotation, LeaseRenewer, leaseVerdict } from "./kube-lease.js";

describe("the owner's lease on a pod", () => {
  const now = Date.parse("2026-12-02T10:00:00.000Z");

  it("runs `seconds` from now", () => {
    expect(leaseAnnotation(90, now)).toEqual({ [LEASE_ANNOTATION]: "2026-12-02T10:01:30.000Z" });
  });

  it("is judged by its expiry; a pod without one (or with garbage) is left to the owner's pid", () => {
    const annotations = leaseAnnotation(90, now);
    expect(leaseVerdict(annotations, now + 89_000)).toEqual({ gone: false, reason: "owner lease held until 2026-12-02T10:01:30.000Z" });
    expect(leaseVerdict(annotations, now + 90_000)).toEqual({ gone: true, reason: "owner lease expired at 2026-12-02T10:01:30.000Z" });
    expect(leaseVerdict(undefined)).toBeUndefined();
    expect(leaseVerdict({ [LEASE_ANNOTATION]: "soon" })).toBeUndefined();
  });
});

describe("LeaseRenewer", () => {
  afterEach(() => vi.useRealTimers());

  it("renews every pod it holds every third of the lease, and stops when it holds none", async () => {
    vi.useFakeTimers({ now: Date.parse("2026-12-02T10:00:00.000Z") });
    const renewed: Array<[string, string]> = [];
    const renewer = new LeaseRenewer(30, async (pod, annotations) => renewed.push([pod, annotations[LEASE_ANNOTATION]!]));
    renewer.add("a");
    renewer.add("b");
    await vi.advanceTimersByTimeAsync(10_000);
    expect(renewed).toEqual([
      ["a", "2026-12-02T10:00:40.000Z"],
      ["b", "2026-12-02T10:00:40.000Z"],
    ]);
    renewer.delete("a");
    await vi.advanceTimersByTimeAsync(10_000);
    expect(renewed.slice(2)).toEqual([["b", "2026-12-02T10:00:50.000Z"]]);
    renewer.delete("b");
    expect(vi.getTimerCount()).toBe(0);
  });

  it("a failed renewal is not fatal: the next tick tries again", async () => {
    vi.useFakeTimers();
    let calls = 0;
    const renewer = new LeaseRenewer(3, async () => {
      calls++;
      throw new Error("API server away");
    });
    renewer.add("a");
    await vi.advanceTimersByTimeAsync(2_000);
    expect(calls).toBe(2);
    renewer.delete("a");
  });
});
