/**
 * Offline dependency policy (`npm run check:deps`, part of `npm run lint`). `npm audit` needs an
 * advisory database this machine cannot reach; these checks need nothing but the tree:
 *
 * - lock integrity: lockfileVersion 3, every package with a sha512 integrity and, where the
 *   lock records a download address, an https tarball (no git, file or plain-http sources), the lock's root dependencies equal package.json's, and (when installed)
 *   node_modules holds exactly the locked versions;
 * - licenses: production packages under an allow-list of permissive licenses (SPDX
 *   expressions: OR needs one allowed term, AND all); dev-only packages may also use the
 *   licences in DEV_ONLY_LICENSES (never shipped);
 * - install scripts: only the packages named in package.json `allowScripts` may have one;
 * - engines: every production package's `engines.node` admits each Node line we support.
 *
 * It prints the production tree's size (packages, bytes on disk) so growth is visible.
 */
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import semver from "semver";

export const SUPPORTED_NODE = ["20.19.0", "22.12.0", "24.0.0"] as const;
export const ALLOWED_LICENSES = new Set(["MIT", "ISC", "BSD-2-Clause", "BSD-3-Clause", "Apache-2.0", "0BSD", "BlueOak-1.0.0", "CC0-1.0", "Unlicense", "WTFPL"]);
/** Licences acceptable for tools used only in development and CI (not in the package users install). */
export const DEV_ONLY_LICENSES = new Set(["GPL-3.0-only", "Python-2.0", "Zlib"]);
/**
 * Packages whose package.json names no licence, reviewed by hand: the licence their README
 * states. Keyed by name@version, so an upgrade is reviewed again.
 */
export const REVIEWED_LICENSES: Readonly<Record<string, string>> = {
  "humanize-number@0.0.2": "MIT", // Readme.md "License: MIT" (dev: s3rver → koa-logger)
  "only@0.0.2": "MIT", // Readme.md "License: MIT" (dev: s3rver → koa)
};

interface LockEntry {
  version?: string;
  resolved?: string;
  integrity?: string;
  license?: string | { type?: string };
  dev?: boolean;
  optional?: boolean;
  link?: boolean;
  hasInstallScript?: boolean;
  engines?: Record<string, string> | string[];
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}
interface Lock {
  lockfileVersion?: number;
  packages?: Record<string, LockEntry>;
}
interface Manifest {
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  allowScripts?: Record<string, boolean>;
  license?: string;
}

export interface PolicyReport {
  violations: string[];
  production: { packages: number; bytes: number };
  development: { packages: number };
}

function licenseOf(entry: LockEntry, dir: string | undefined): string | undefined {
  const raw = entry.license;
  if (typeof raw === "string") return raw;
  if (raw && typeof raw.type === "string") return raw.type;
  if (dir && existsSync(join(dir, "package.json"))) {
    const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { license?: unknown; licenses?: Array<{ type?: string }> };
    if (typeof pkg.license === "string") return pkg.license;
    if (Array.isArray(pkg.licenses) && pkg.licenses[0]?.type) return pkg.licenses.map((l) => l.type).join(" OR ");
  }
  return undefined;
}

/** True when the SPDX expression is satisfied by licences in `allowed` (OR: any term; AND: all). */
export function licenseAllowed(expression: string, allowed: ReadonlySet<string>): boolean {
  const expr = expression.trim().replace(/^\((.*)\)$/, "$1");
  return expr.split(/\s+OR\s+/).some((alt) =>
    alt
      .replace(/[()]/g, "")
      .split(/\s+AND\s+/)
      .every((term) => allowed.has(term.trim())),
  );
}

function dirSize(path: string): number {
  let total = 0;
  for (const name of readdirSync(path)) {
    const p = join(path, name);
    const st = statSync(p, { throwIfNoEntry: false });
    if (!st) continue;
    if (st.isDirectory()) {
      if (name !== "node_modules") total += dirSize(p);
    } else total += st.size;
  }
  return total;
}

export function checkDependencyPolicy(root: string): PolicyReport {
  const violations: string[] = [];
  const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as Manifest;
  const lockPath = join(root, "package-lock.json");
  if (!existsSync(lockPath))
    return { violations: ["package-lock.json is missing: run npm install and commit it"], production: { packages: 0, bytes: 0 }, development: { packages: 0 } };
  const lock = JSON.parse(readFileSync(lockPath, "utf8")) as Lock;
  if (lock.lockfileVersion !== 3) violations.push(`package-lock.json: lockfileVersion ${lock.lockfileVersion}, expected 3`);
  const packages = lock.packages ?? {};
  const rootEntry = packages[""] ?? {};
  for (const field of ["dependencies", "devDependencies"] as const) {
    const want = manifest[field] ?? {};
    const got = rootEntry[field] ?? {};
    for (const name of new Set([...Object.keys(want), ...Object.keys(got)])) {
      if (want[name] !== got[name])
        violations.push(
          `package-lock.json is out of date: ${field}.${name} is ${JSON.stringify(want[name])} in package.json, ${JSON.stringify(got[name])} in the lock (run npm install)`,
        );
    }
  }
  const allowScripts = manifest.allowScripts ?? {};
  const installed = existsSync(join(root, "node_modules"));
  let prodCount = 0;
  let prodBytes = 0;
  let devCount = 0;
  for (const [key, entry] of Object.entries(packages)) {
    if (key === "" || entry.link) continue;
    const name = key.replace(/^.*node_modules\//, "");
    const id = `${name}@${entry.version}`;
    if (entry.resolved !== undefined && !/^https:\/\/[^/]+\/.+\.tgz$/.test(entry.resolved))
      violations.push(`${id}: resolved from ${entry.resolved}, not a registry tarball over https`);
    if (!entry.integrity || !/^sha512-[A-Za-z0-9+/]{86}==$/.test(entry.integrity)) violations.push(`${id}: no sha512 integrity in the lock`);
    const dir = join(root, key);
    if (installed && existsSync(join(dir, "package.json"))) {
      const onDisk = (JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { version?: string }).version;
      if (onDisk !== entry.version) violations.push(`${id}: node_modules holds ${onDisk} (run npm ci)`);
    }
    if (entry.hasInstallScript && allowScripts[name] !== true) violations.push(`${id}: has an install script and is not in package.json allowScripts`);
    const license = licenseOf(entry, installed ? dir : undefined) ?? REVIEWED_LICENSES[id];
    const isDev = entry.dev === true;
    const allowed = isDev ? new Set([...ALLOWED_LICENSES, ...DEV_ONLY_LICENSES]) : ALLOWED_LICENSES;
    if (!license) {
      if (!isDev) violations.push(`${id}: declares no licence`);
      else if (installed) violations.push(`${id} (dev): declares no licence`);
    } else if (!licenseAllowed(license, allowed)) violations.push(`${id}${isDev ? " (dev)" : ""}: licence ${license} is not on the allow-list`);
    if (isDev) {
      devCount++;
      continue;
    }
    prodCount++;
    if (installed && existsSync(dir)) prodBytes += dirSize(dir);
    const engines = entry.engines;
    const nodeRange = engines && !Array.isArray(engines) ? engines.node : undefined;
    if (nodeRange) {
      const range = semver.validRange(nodeRange);
      if (!range) violations.push(`${id}: engines.node ${JSON.stringify(nodeRange)} is not a valid range`);
      else
        for (const v of SUPPORTED_NODE)
          if (!semver.satisfies(v, range))
            violations.push(`${id}: engines.node ${nodeRange} excludes Node ${v} (supported: ${SUPPORTED_NODE.map((s) => s.split(".")[0]).join(", ")})`);
    }
  }
  return { violations, production: { packages: prodCount, bytes: prodBytes }, development: { packages: devCount } };
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith("deps-policy.ts")) {
  const root = resolve(process.argv[2] ?? ".");
  const report = checkDependencyPolicy(root);
  const mb = (report.production.bytes / 1048576).toFixed(1);
  console.log(`dependency policy: ${report.production.packages} production packages (${mb} MiB in node_modules), ${report.development.packages} dev-only`);
  for (const v of report.violations) console.error(`  ✗ ${v}`);
  if (report.violations.length > 0) {
    console.error(`dependency policy: ${report.violations.length} violation(s)`);
    process.exit(1);
  }
  console.log("dependency policy: lock integrity, licences, install scripts and engines (Node 20, 22, 24) OK");
}
