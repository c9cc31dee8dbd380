import { accessSync, constants } from "node:fs";

/**
 * System programs some suites drive for real (Debian packages that `.ci/run` installs).
 * On a machine without them — a fresh `npm install && npm test` — those suites skip with
 * one line naming the command that installs them, instead of failing.
 *
 * `POLARITY_HIDE_SYSTEM_BINARIES=1` makes every binary look absent: `.ci/run` uses it to
 * check that the suite still passes on a machine that has none of them.
 */
export const SYSTEM_BINARIES = {
  chromium: { path: "/usr/bin/chromium", apt: "chromium" },
  prometheus: { path: "/usr/bin/prometheus", apt: "prometheus" },
  promtool: { path: "/usr/bin/promtool", apt: "prometheus" },
  pg_ctlcluster: { path: "/usr/bin/pg_ctlcluster", apt: "postgresql" },
  buildah: { path: "/usr/bin/buildah", apt: "buildah" },
} as const;

export type SystemBinary = keyof typeof SYSTEM_BINARIES;

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The binary's path when it is installed (and not hidden), else undefined. */
export function systemBinary(name: SystemBinary): string | undefined {
  if (process.env.POLARITY_HIDE_SYSTEM_BINARIES === "1") return undefined;
  const { path } = SYSTEM_BINARIES[name];
  return executable(path) ? path : undefined;
}

/**
 * For `describe(title, { skip: skipUnless("chromium") }, …)`: false when every binary is
 * there, else the one-line reason node:test prints, naming the install command.
 */
export function skipUnless(...names: SystemBinary[]): string | false {
  const missing = names.filter((n) => systemBinary(n) === undefined);
  if (missing.length === 0) return false;
  const packages = [...new Set(missing.map((n) => SYSTEM_BINARIES[n].apt))].join(" ");
  return `needs ${missing.map((n) => SYSTEM_BINARIES[n].path).join(", ")}: apt-get install -y ${packages}`;
}
