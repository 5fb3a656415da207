/**
 * The owner's lease on its pods. A pod carries the time until which its owner vouches for it; the owner renews it
 * while it lives. `llm-sandbox cleanup --kubernetes` deletes pods whose lease ran out, from any host: unlike the
 * owner's pid, a lease can be judged where the owner does not run (a cluster has no reaper container of ours).
 */
export const LEASE_ANNOTATION = "org.llm-sandbox.owner-lease-expires";
/** Default seconds a lease lasts; it is renewed every third of that. */
export const DEFAULT_LEASE_SECONDS = 120;

/** The annotation for a lease of `seconds` from `now`. */
export const leaseAnnotation = (seconds: number, now = Date.now()): Record<string, string> => ({
  [LEASE_ANNOTATION]: new Date(now + seconds * 1000).toISOString(),
});

/** Whether the pod's lease ran out; undefined when it has none (then the owner's pid decides). */
export function leaseVerdict(annotations: Readonly<Record<string, string>> | undefined, now = Date.now()): { gone: boolean; reason: string } | undefined {
  const until = annotations?.[LEASE_ANNOTATION];
  const expires = until ? Date.parse(until) : Number.NaN;
  if (Number.isNaN(expires)) return undefined;
  return expires <= now ? { gone: true, reason: `owner lease expired at ${until}` } : { gone: false, reason: `owner lease held until ${until}` };
}

/**
 * Renews the leases of the pods it holds, every third of the lease, all at once. The timer does not keep the process
 * alive, and a failed renewal is retried at the next tick (two more before the lease runs out).
 */
export class LeaseRenewer {
  readonly #pods = new Set<string>();
  #timer: NodeJS.Timeout | undefined;

  constructor(
    readonly seconds: number,
    private readonly renew: (pod: string, annotations: Record<string, string>) => Promise<unknown>,
  ) {}

  add(pod: string): void {
    this.#pods.add(pod);
    this.#timer ??= setInterval(() => this.#renewAll(), (this.seconds * 1000) / 3).unref();
  }

  delete(pod: string): void {
    this.#pods.delete(pod);
    if (this.#pods.size > 0 || !this.#timer) return;
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #renewAll(): void {
    const annotations = leaseAnnotation(this.seconds);
    for (const pod of this.#pods) void this.renew(pod, annotations).catch(() => {});
  }
}
