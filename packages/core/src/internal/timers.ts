import { z } from "zod";
import { ValidationError } from "../errors.js";

/**
 * The longest time limit, in seconds, that a timer can wait for: Node's timers take a signed 32-bit delay in
 * milliseconds (2^31−1, about 24.8 days) and fire at once for anything longer. Every limit a timer arms is refused
 * beyond this; use `null` (or leave the option out) for "no limit" where an option allows it.
 */
export const MAX_TIMER_SECONDS = Math.floor((2 ** 31 - 1) / 1000);

const TOO_LONG = `at most ${MAX_TIMER_SECONDS} seconds (about 24.8 days, the longest a timer can wait)`;

/** A time limit in seconds in an options schema: positive, finite, and one a timer can wait for. */
export const timerSeconds = z.number().positive().finite().max(MAX_TIMER_SECONDS, `expected ${TOO_LONG}`);

/** A time limit given outside a schema (a per-call `timeout`): returned as is, or a `ValidationError` naming the maximum. */
export function checkTimerSeconds(seconds: number, name: string): number {
  if (typeof seconds !== "number" || !Number.isFinite(seconds) || seconds <= 0) {
    throw new ValidationError(`${name} must be a positive number of seconds, not ${String(seconds)}`);
  }
  if (seconds > MAX_TIMER_SECONDS) throw new ValidationError(`${name} must be ${TOO_LONG}; got ${seconds}`);
  return seconds;
}

/** `setTimeout` for a limit in seconds, checked first (see `checkTimerSeconds`). */
export function startTimer(seconds: number, name: string, callback: () => void): NodeJS.Timeout {
  return setTimeout(callback, checkTimerSeconds(seconds, name) * 1000);
}
