// The `llm-sandbox-mcp` command. In stdio mode stdout carries the protocol: everything else goes to stderr.
import { SandboxError } from "@llm-sandbox/core";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { loggableConfig, parseCommand, USAGE } from "./config.js";
import { serveHttp } from "./http.js";
import { createSandboxMcpServer, version } from "./server.js";

async function main(): Promise<void> {
  const command = parseCommand(process.argv.slice(2), process.env);
  if ("help" in command) return void process.stdout.write(`${USAGE}\n`);
  if ("version" in command) return void process.stdout.write(`${version}\n`);
  if (command.verbose) console.error(`[llm-sandbox-mcp] configuration: ${loggableConfig(command)}`);

  let stop: () => Promise<void>;
  if (command.transport === "http") {
    const server = await serveHttp(command.server, { host: command.host, port: command.port });
    console.error(`[llm-sandbox-mcp] listening on ${server.url}`);
    stop = server.close;
  } else {
    const sandbox = createSandboxMcpServer(command.server);
    const transport = new StdioServerTransport();
    await sandbox.server.connect(transport);
    stop = sandbox.close;
    // The client closing our stdin ends the session.
    process.stdin.once("end", () => void shutdown());
    if (command.verbose) console.error("[llm-sandbox-mcp] serving on stdio");
  }

  let stopping = false;
  async function shutdown(): Promise<void> {
    if (stopping) return;
    stopping = true;
    await stop().catch((error: unknown) => console.error(`[llm-sandbox-mcp] shutdown: ${error}`));
    process.exit(0);
  }
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.once(signal, () => void shutdown());
}

main().catch((error: unknown) => {
  console.error(SandboxError.isInstance(error) ? error.message : error);
  process.exit(SandboxError.isInstance(error) ? 2 : 1);
});
