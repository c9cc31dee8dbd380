import { timingSafeEqual } from "node:crypto";
import type { FastifyInstance } from "fastify";
import { PolarityError } from "../util/errors.js";
import type { ServeConfig } from "./config.js";

/**
 * Optional authentication of the model server (`--auth-token`, `--auth user:password`):
 * every route asks for credentials except the probes a kubelet or load balancer calls without
 * them. The probes say nothing about the model's source, so leaving them open leaks nothing.
 */
export const OPEN_ROUTES: ReadonlySet<string> = new Set(["/healthz", "/readyz", "/ping", "/health", "/v2/health/live", "/v2/health/ready", "/favicon.ico"]);

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

const BEARER = /^Bearer ([A-Za-z0-9\-._~+/]+=*)$/;
const BASIC = /^Basic ([A-Za-z0-9+/]+={0,2})$/;

/** Strict: exactly `Bearer <token68>` or `Basic <base64>`, nothing after it (RFC 7235/7617/6750). */
export function isAuthorized(header: string | undefined, auth: { token?: string; basic?: string }): boolean {
  if (!header) return false;
  if (auth.token !== undefined) {
    const m = BEARER.exec(header);
    if (m && sameSecret(m[1], auth.token)) return true;
  }
  if (auth.basic !== undefined) {
    const m = BASIC.exec(header);
    if (m && sameSecret(Buffer.from(m[1], "base64").toString("utf8"), auth.basic)) return true;
  }
  return false;
}

export function installAuth(app: FastifyInstance, config: Pick<ServeConfig, "authToken" | "authBasic">): void {
  if (config.authToken === undefined && config.authBasic === undefined) return;
  const auth = {
    ...(config.authToken !== undefined ? { token: config.authToken } : {}),
    ...(config.authBasic !== undefined ? { basic: config.authBasic } : {}),
  };
  const challenge = [auth.basic !== undefined ? 'Basic realm="polarity"' : "", auth.token !== undefined ? 'Bearer realm="polarity"' : ""]
    .filter(Boolean)
    .join(", ");
  app.addHook("onRequest", async (request, reply) => {
    const path = request.url.split("?", 1)[0];
    if (OPEN_ROUTES.has(path) || isAuthorized(request.headers.authorization, auth)) return;
    reply.header("www-authenticate", challenge);
    throw new PolarityError("UNAUTHENTICATED", "credentials required: send Authorization: Bearer <token> or Basic (see --auth-token / --auth)");
  });
}
