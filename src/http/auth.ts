import { isUtf8 } from "node:buffer";
import { timingSafeEqual } from "node:crypto";
import { PolarityError } from "../util/errors.js";

/**
 * HTTP authentication shared by Polarity's servers (tracking server, model server): strict
 * parsing of `Authorization` (RFC 7235/7617/6750) and a constant-time credential check.
 */

/** What a server accepts: HTTP Basic `username:password`, a Bearer token, or both. */
export interface ServerAuth {
  username?: string;
  password?: string;
  token?: string;
}

export type ParsedAuthorization = { scheme: "bearer"; token: string } | { scheme: "basic"; username: string; password: string };

// One space, then exactly one token68 / canonical base64 credential, then nothing.
const BEARER = /^Bearer ([A-Za-z0-9\-._~+/]+=*)$/i;
const BASIC = /^Basic ([A-Za-z0-9+/]+={0,2})$/i;

/**
 * `Bearer <token68>` or `Basic <base64(user:password)>` and nothing else: no trailing junk,
 * no second credential, base64 that re-encodes to itself (no ignored bytes), UTF-8 user and
 * password with a colon between. Anything else is undefined (not authenticated).
 */
export function parseAuthorization(header: string | undefined): ParsedAuthorization | undefined {
  if (!header) return undefined;
  const bearer = BEARER.exec(header);
  if (bearer) return { scheme: "bearer", token: bearer[1] };
  const basic = BASIC.exec(header);
  if (!basic) return undefined;
  const bytes = Buffer.from(basic[1], "base64");
  if (bytes.toString("base64") !== basic[1] || !isUtf8(bytes)) return undefined;
  const decoded = bytes.toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0) return undefined;
  return { scheme: "basic", username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Whether the `Authorization` header carries credentials `auth` accepts. */
export function isAuthorized(header: string | undefined, auth: ServerAuth): boolean {
  const parsed = parseAuthorization(header);
  if (!parsed) return false;
  if (parsed.scheme === "bearer") return auth.token !== undefined && sameSecret(parsed.token, auth.token);
  if (auth.username === undefined) return false;
  // Both compared, always: no early exit that times the username.
  const userOk = sameSecret(parsed.username, auth.username);
  const passOk = sameSecret(parsed.password, auth.password ?? "");
  return userOk && passOk;
}

/** The `WWW-Authenticate` value for a 401 from a server configured with `auth`. */
export function authChallenge(auth: ServerAuth): string {
  return [auth.username !== undefined ? 'Basic realm="polarity"' : "", auth.token !== undefined ? 'Bearer realm="polarity"' : ""].filter(Boolean).join(", ");
}

/** The header a client sends for Basic credentials. */
export function basicAuthorization(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`, "utf8").toString("base64")}`;
}

/**
 * Credentials from flags (`--auth user:password`, `--auth-token`), falling back to
 * `<PREFIX>_USERNAME` / `<PREFIX>_PASSWORD` / `<PREFIX>_TOKEN`. With none set the server is open.
 */
export function resolveServerAuth(
  flags: { auth?: string; authToken?: string },
  env: NodeJS.ProcessEnv = process.env,
  prefix = "POLARITY_SERVER",
): ServerAuth | undefined {
  const auth: ServerAuth = {};
  if (flags.auth !== undefined) {
    const i = flags.auth.indexOf(":");
    if (i <= 0 || i === flags.auth.length - 1) throw new PolarityError("INVALID_PARAMETER_VALUE", "--auth must be user:password");
    auth.username = flags.auth.slice(0, i);
    auth.password = flags.auth.slice(i + 1);
  } else if (env[`${prefix}_USERNAME`] || env[`${prefix}_PASSWORD`]) {
    if (!env[`${prefix}_USERNAME`] || !env[`${prefix}_PASSWORD`]) {
      throw new PolarityError("INVALID_PARAMETER_VALUE", `set both ${prefix}_USERNAME and ${prefix}_PASSWORD, or neither`);
    }
    auth.username = env[`${prefix}_USERNAME`];
    auth.password = env[`${prefix}_PASSWORD`];
  }
  const token = flags.authToken ?? env[`${prefix}_TOKEN`];
  if (token) auth.token = token;
  return auth.username || auth.token ? auth : undefined;
}
