/** Node fires a timer at once when its delay exceeds this (about 24.8 days). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** Calls `callback` after `seconds`; longer delays than Node's timers allow are capped, never fired at once. */
export function armTimer(seconds: number, callback: () => void): NodeJS.Timeout {
  return setTimeout(callback, Math.min(seconds * 1000, MAX_TIMER_MS));
}
