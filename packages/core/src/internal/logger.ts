/** The logging surface sessions use; any console-like object fits. */
export interface Logger {
  debug(message: string, ...details: unknown[]): void;
  info(message: string, ...details: unknown[]): void;
  warn(message: string, ...details: unknown[]): void;
  error(message: string, ...details: unknown[]): void;
}

const noop = () => {};
export const silentLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop };

/** Logs to stderr with a prefix; stdout is left to the program (MCP stdio servers need it clean). */
export const stderrLogger: Logger = {
  debug: (m, ...d) => console.error(`[llm-sandbox] ${m}`, ...d),
  info: (m, ...d) => console.error(`[llm-sandbox] ${m}`, ...d),
  warn: (m, ...d) => console.error(`[llm-sandbox] warning: ${m}`, ...d),
  error: (m, ...d) => console.error(`[llm-sandbox] error: ${m}`, ...d),
};
