import { byLine } from "../container/process.js";

/**
 * Whole lines for a tool call's progress. A session's streaming callbacks pass a partial line on as soon as it
 * arrives (one `print` can reach the engine as "0" and then "\n"), but the adapters promise lines (tool events,
 * progress notifications), so here a partial line waits for its end — or for the end of the run.
 */
export interface LineBuffer {
  /** Takes the next decoded text of one stream; passes on each line it completes, "\n" included. */
  push(text: string): void;
  /** At the end of the run: passes on the last line if it had no "\n". */
  flush(): void;
}

export function lineBuffer(onLine: (line: string) => void): LineBuffer {
  const lines = byLine(onLine)!;
  let pending = "";
  return {
    push(text) {
      const end = text.lastIndexOf("\n") + 1;
      if (end === 0) {
        pending += text;
        return;
      }
      const complete = pending + text.slice(0, end);
      pending = text.slice(end);
      lines(complete);
    },
    flush() {
      const rest = pending;
      pending = "";
      if (rest) onLine(rest);
    },
  };
}
