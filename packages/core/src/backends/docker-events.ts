import type { IncomingMessage } from "node:http";
import type Docker from "dockerode";

/**
 * Follows the engine's event stream (Docker's, and Podman's compatible one) for stops ("die") of containers labelled
 * `label`; see `BackendAdapter.watchContainers`. Stops are picked out here: the engines name them differently in
 * filters (Podman 4: "died") but alike in events. The stream never keeps the Node.js process alive.
 */
export async function watchStops(docker: Docker, label: string, onStop: (id: string) => void, signal: AbortSignal): Promise<{ readonly closed: Promise<void> }> {
  const stream = (await docker.getEvents({ filters: { type: ["container"], label: [label] } })) as IncomingMessage;
  stream.socket?.unref();
  const closed = new Promise<void>((resolve) => {
    const end = () => {
      signal.removeEventListener("abort", end);
      stream.destroy();
      resolve();
    };
    if (signal.aborted) return end();
    signal.addEventListener("abort", end, { once: true });
    let partial = "";
    stream.on("data", (chunk: Buffer) => {
      const lines = (partial + chunk.toString("utf8")).split("\n");
      partial = lines.pop() ?? "";
      for (const line of lines) {
        const id = stoppedContainer(line);
        if (id) onStop(id);
      }
    });
    stream.once("end", end);
    stream.once("close", end);
    stream.once("error", end);
  });
  return { closed };
}

/** The id of the container a "die" event names; undefined for any other event. */
function stoppedContainer(line: string): string | undefined {
  try {
    const event = JSON.parse(line) as { Action?: string; status?: string; Actor?: { ID?: string }; id?: string };
    return (event.Action ?? event.status) === "die" ? (event.Actor?.ID ?? event.id) : undefined;
  } catch {
    return undefined;
  }
}
