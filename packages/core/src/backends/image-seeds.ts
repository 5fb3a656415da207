import type Docker from "dockerode";
import { countEntries } from "../internal/tar.js";
import type { ContainerSpec } from "./backend.js";
import { describeEndpoint } from "./engine-client.js";

const seedCache = new Map<string, Buffer | undefined>();
const MAX_CACHED_SEED_BYTES = 8 * 1024 * 1024;

/**
 * What the image holds at each tmpfs mount point of `spec` (a tmpfs hides it), as tar archives to put back; read once
 * per engine, image and path (image content never changes). Read before start, so the tmpfs is not mounted yet.
 */
export async function readImageSeeds(docker: Docker, container: Docker.Container, spec: ContainerSpec): Promise<Array<readonly [string, Buffer | undefined]>> {
  const paths = Object.keys(spec.tmpfs);
  if (paths.length === 0) return [];
  const imageId = (await docker.getImage(spec.image).inspect()).Id;
  return Promise.all(
    paths.map(async (path) => {
      const key = `${describeEndpoint(docker)}|${imageId}|${path}`;
      if (!seedCache.has(key)) {
        const archive = await imageDirectory(container, path);
        if (seedCache.size >= 64) seedCache.delete(seedCache.keys().next().value!);
        if (!archive || archive.length <= MAX_CACHED_SEED_BYTES) seedCache.set(key, archive);
        return [path, archive] as const;
      }
      return [path, seedCache.get(key)] as const;
    }),
  );
}

/** The image's content at `path`; undefined when empty. */
async function imageDirectory(container: Docker.Container, path: string): Promise<Buffer | undefined> {
  let stream: NodeJS.ReadableStream;
  try {
    stream = await container.getArchive({ path });
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return undefined;
    throw error;
  }
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  const archive = Buffer.concat(chunks);
  return (await countEntries(archive)) > 1 ? archive : undefined;
}
