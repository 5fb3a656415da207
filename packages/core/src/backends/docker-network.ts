import type Docker from "dockerode";
import { LABELS } from "../internal/labels.js";

/** The network used only while libraries install: containers on it cannot reach each other (ICC off). */
export const INSTALL_NETWORK = "llm-sandbox-install";

const statusOf = (error: unknown) => (error as { statusCode?: number }).statusCode;

/**
 * The install network's id, creating the network if needed. Sessions in several processes may create it at once and
 * the engine then holds duplicates by name, so everyone settles on the oldest and the rest are dropped.
 */
export async function installNetwork(docker: Docker): Promise<string> {
  const named = async () =>
    (await docker.listNetworks({ filters: { name: [INSTALL_NETWORK] } }))
      .filter((network) => network.Name === INSTALL_NETWORK)
      .sort((a, b) => a.Created.localeCompare(b.Created) || a.Id.localeCompare(b.Id));
  let networks = await named();
  if (networks.length === 0) {
    await docker.createNetwork({
      Name: INSTALL_NETWORK,
      Driver: "bridge",
      CheckDuplicate: true,
      Options: { "com.docker.network.bridge.enable_icc": "false" },
      Labels: { [LABELS.managed]: "true" },
    }).catch((error: unknown) => {
      if (statusOf(error) !== 409) throw error;
    });
    networks = await named();
  }
  const [chosen, ...duplicates] = networks;
  if (!chosen) throw new Error(`network ${INSTALL_NETWORK} vanished after creation`);
  await Promise.all(duplicates.map((network) => docker.getNetwork(network.Id).remove().catch(() => {})));
  return chosen.Id;
}
