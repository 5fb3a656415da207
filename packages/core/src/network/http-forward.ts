import { type Agent, type IncomingMessage, request as httpRequest, type ServerResponse, STATUS_CODES } from "node:http";
import { type Agent as HttpsAgent, request as httpsRequest } from "node:https";
import type { NetworkLogEntry } from "./network-log.js";
import type { EgressDecision } from "./policy.js";
import { type Substitution, substitute, substituteBytes } from "./secrets.js";
import { UpstreamRefused, upstreamAddress } from "./upstream.js";

/** A body larger than this is not rewritten (its placeholder, if any, goes out unchanged) but streamed. */
const MAX_REWRITTEN_BODY = 16 * 1024 * 1024;
/** Headers that belong to one hop (RFC 9110 7.6.1), the proxy's own among them. */
const HOP_HEADERS = new Set(["connection", "keep-alive", "proxy-connection", "proxy-authorization", "proxy-authenticate", "te", "trailer", "upgrade"]);

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** What forwarding one request needs from the proxy. */
export interface ForwardTarget {
  readonly host: string;
  readonly port: number;
  /** Over TLS to the upstream (the sandbox's TLS was opened here to put a secret in). */
  readonly secure: boolean;
  readonly decision: Extract<EgressDecision, { allowed: true }>;
  readonly substitutions: readonly Substitution[];
  /** Also rewrite bodies. */
  readonly body: boolean;
  /** Opens upstream connections (HTTPS: trusting the policy's CAs too). */
  readonly agent: Agent | HttpsAgent;
  readonly entry: Mutable<NetworkLogEntry>;
}

const refusalBody = (message: string): string => `llm-sandbox egress proxy: ${message}\n`;
const REFUSAL_HEADERS = { "content-type": "text/plain; charset=utf-8", "x-llm-sandbox-refused": "1" };

/** Answers the sandbox's request with a refusal it can read: the proxy's 403 (or 502) and why. */
export function refuse(response: ServerResponse, status: number, message: string): void {
  if (response.headersSent) {
    response.destroy();
    return;
  }
  const body = refusalBody(message);
  response.writeHead(status, { ...REFUSAL_HEADERS, "content-length": Buffer.byteLength(body) });
  response.end(body);
}

/** The same refusal as raw bytes, for a connection the HTTP server handed over (a refused CONNECT). */
export function refusalResponse(status: number, message: string): string {
  const body = refusalBody(message);
  const headers = { ...REFUSAL_HEADERS, "content-length": Buffer.byteLength(body), connection: "close" };
  return `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n${Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join("")}\r\n${body}`;
}

/** Sends one request of the sandbox upstream, with the secrets put in, and streams the answer back. */
export async function forwardRequest(request: IncomingMessage, response: ServerResponse, path: string, target: ForwardTarget): Promise<void> {
  const { entry, substitutions } = target;
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined || HOP_HEADERS.has(name)) continue;
    headers[name] = Array.isArray(value) ? value.map((item) => substitute(item, substitutions)) : substitute(value, substitutions);
  }
  let body: Buffer | undefined;
  if (target.body && substitutions.length) {
    body = await readBody(request);
    if (body) {
      body = substituteBytes(body, substitutions);
      delete headers["transfer-encoding"];
      headers["content-length"] = String(body.length);
    }
  }
  let address: string;
  try {
    address = await upstreamAddress(target.host, target.decision.address);
  } catch (error) {
    entry.reason = (error as Error).message;
    refuse(response, 502, entry.reason);
    return;
  }
  const send = target.secure ? httpsRequest : httpRequest;
  const upstream = send({
    host: address,
    port: target.port,
    method: request.method,
    path: substitute(path, substitutions),
    headers,
    agent: target.agent,
    // The certificate is checked for `servername`: the name the policy allowed, not the address dialled.
    ...(target.secure ? { servername: target.host } : {}),
  });
  await new Promise<void>((resolve) => {
    upstream.once("response", (answer) => {
      const answerHeaders = Object.fromEntries(Object.entries(answer.headers).filter(([name]) => !HOP_HEADERS.has(name)));
      response.writeHead(answer.statusCode ?? 502, answer.statusMessage, answerHeaders as Record<string, string | string[]>);
      answer.on("data", (chunk: Buffer) => (entry.bytesIn += chunk.length));
      answer.pipe(response);
      answer.once("end", resolve);
      answer.once("error", () => resolve());
    });
    upstream.once("error", (error) => {
      entry.reason = `upstream: ${error instanceof UpstreamRefused ? error.message : ((error as NodeJS.ErrnoException).code ?? error.message)}`;
      refuse(response, 502, `${target.host}:${target.port} failed: ${entry.reason}`);
      resolve();
    });
    if (body) {
      entry.bytesOut += body.length;
      upstream.end(body);
    } else {
      request.on("data", (chunk: Buffer) => (entry.bytesOut += chunk.length));
      request.pipe(upstream);
    }
  });
}

/** The whole body when it is small enough to rewrite; undefined (nothing consumed) when it is not. */
async function readBody(request: IncomingMessage): Promise<Buffer | undefined> {
  const length = Number(request.headers["content-length"] ?? NaN);
  if (Number.isFinite(length) && length > MAX_REWRITTEN_BODY) return undefined;
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
