import net, { type AddressInfo } from "node:net";
import tls from "node:tls";

/** The records of a whole first flight: handshake bytes up to the ClientHello's declared end (checked independently). */
function helloComplete(bytes: Buffer): boolean {
  const handshake: Buffer[] = [];
  for (let at = 0; at + 5 <= bytes.length; at += 5 + bytes.readUInt16BE(at + 3)) handshake.push(bytes.subarray(at + 5, at + 5 + bytes.readUInt16BE(at + 3)));
  const all = Buffer.concat(handshake);
  return all.length >= 4 && all.length >= 4 + all.readUIntBE(1, 3);
}

/** The first bytes `tls.connect` sends: a client piped to a plain TCP server that never answers. */
export async function captureClientHello(options: tls.ConnectionOptions): Promise<Buffer> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const captured = new Promise<Buffer>((resolve) =>
    server.once("connection", (socket) => {
      let bytes = Buffer.alloc(0);
      socket.on("data", (chunk: Buffer) => {
        bytes = Buffer.concat([bytes, chunk]);
        if (helloComplete(bytes)) resolve(bytes);
      });
    }),
  );
  const client = tls.connect({ host: "127.0.0.1", port: (server.address() as AddressInfo).port, ...options });
  client.on("error", () => {}); // the server never answers; the socket is destroyed below
  try {
    return await captured;
  } finally {
    client.destroy();
    server.close();
  }
}

