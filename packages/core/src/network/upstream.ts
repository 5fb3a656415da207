import { lookup } from "node:dns/promises";
import { connect, type Socket } from "node:net";
import { isPublicAddress } from "./policy.js";

/** How long the proxy waits for an upstream to accept, so a dead upstream fails instead of hanging the sandbox. */
const CONNECT_TIMEOUT_MS = 10_000;

/** Why an upstream cannot be dialled; its message is shown to the sandbox (never holds a secret). */
export class UpstreamRefused extends Error {}

/**
 * The address to dial for an allowed name: its `hosts` entry, else what the host's resolver says, of which only
 * public addresses count (a public name resolving to 10.x or 169.254.169.254 — DNS rebinding — reaches nothing).
 * The checked address is dialled as is, so a second lookup cannot swap it.
 */
export async function upstreamAddress(host: string, staticAddress: string | undefined): Promise<string> {
  if (staticAddress) return staticAddress;
  let addresses: { address: string }[];
  try {
    addresses = await lookup(host, { all: true });
  } catch (error) {
    throw new UpstreamRefused(`cannot resolve ${host}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  const usable = addresses.find(({ address }) => isPublicAddress(address));
  if (!usable) {
    throw new UpstreamRefused(`${host} resolves only to private or reserved addresses (${addresses.map((a) => a.address).join(", ")}); name it in \`hosts\` to allow one`);
  }
  return usable.address;
}

/** A TCP connection to `address:port`, failing within CONNECT_TIMEOUT_MS. */
export function dial(address: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: address, port, allowHalfOpen: true });
    const timer = setTimeout(() => socket.destroy(new UpstreamRefused(`${address}:${port} did not answer within ${CONNECT_TIMEOUT_MS / 1000} s`)), CONNECT_TIMEOUT_MS);
    socket.once("connect", () => {
      clearTimeout(timer);
      socket.removeAllListeners("error");
      resolve(socket);
    });
    socket.once("error", (error) => {
      clearTimeout(timer);
      reject(error instanceof UpstreamRefused ? error : new UpstreamRefused(`cannot connect to ${address}:${port}: ${(error as NodeJS.ErrnoException).code ?? error.message}`));
    });
  });
}
