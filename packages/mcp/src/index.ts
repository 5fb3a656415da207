export { type Command, parseCommand, type ServeConfig, USAGE } from "./config.js";
export { type HttpServeOptions, type HttpServer, serveHttp } from "./http.js";
export { createSandboxMcpServer, type SandboxMcpServer, type SandboxMcpServerOptions } from "./server.js";
