import { spawnSync } from "node:child_process";
import { accessSync, constants, readFileSync, readdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";

/** Helpers shared by the deployment tests: the repository, Kubernetes objects, kustomize, the CLI. */

export const REPO = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const K8S_DIR = join(REPO, "deploy", "k8s");
export const OVERLAYS = ["dev", "prod"] as const;
export type Overlay = (typeof OVERLAYS)[number];

// The manifests are untyped YAML; the tests read them the way kubectl does.
/* eslint-disable @typescript-eslint/no-explicit-any */
export type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: any;
  data?: Record<string, string>;
  [key: string]: any;
};
/* eslint-enable @typescript-eslint/no-explicit-any */

export function readText(relative: string): string {
  return readFileSync(join(REPO, relative), "utf8");
}

/** Every YAML document of a multi-document text, failing on the first syntax error. */
export function parseYamlDocuments(text: string, where: string): unknown[] {
  return parseAllDocuments(text)
    .map((doc) => {
      if (doc.errors.length > 0) throw new Error(`${where}: ${doc.errors[0].message}`);
      return doc.toJS() as unknown;
    })
    .filter((d) => d !== null && d !== undefined);
}

function asK8sObject(value: unknown, where: string): K8sObject {
  const o = value as Partial<K8sObject>;
  if (typeof o !== "object" || o === null || typeof o.apiVersion !== "string" || typeof o.kind !== "string" || typeof o.metadata?.name !== "string") {
    throw new Error(`${where}: not a Kubernetes object (apiVersion, kind and metadata.name are required)`);
  }
  return o as K8sObject;
}

/** The base's objects as written (the files its kustomization.yaml lists), no kustomize needed. */
export function loadBaseFiles(): { file: string; object: K8sObject }[] {
  const kustomization = parseYamlDocuments(readText("deploy/k8s/base/kustomization.yaml"), "base/kustomization.yaml")[0] as { resources: string[] };
  return kustomization.resources.flatMap((file) =>
    parseYamlDocuments(readText(`deploy/k8s/base/${file}`), `base/${file}`).map((doc) => ({ file, object: asK8sObject(doc, `base/${file}`) })),
  );
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * A real kustomize: `kustomize` or kubectl's built-in one (`kubectl kustomize`), found on PATH.
 * POLARITY_HIDE_SYSTEM_BINARIES=1 hides it, as for the other system binaries.
 */
export function findKustomize(): { command: string; args: string[] } | undefined {
  if (process.env.POLARITY_HIDE_SYSTEM_BINARIES === "1") return undefined;
  const dirs = (process.env.PATH ?? "").split(":").filter(Boolean);
  for (const [name, args] of [
    ["kustomize", ["build"]],
    ["kubectl", ["kustomize"]],
  ] as const) {
    const found = dirs.map((d) => join(d, name)).find(executable);
    if (found) return { command: found, args: [...args] };
  }
  return undefined;
}

export const KUSTOMIZE_SKIP =
  "needs kustomize or kubectl (kubectl kustomize) on PATH: install kubectl from the Kubernetes apt repository or the kustomize release binary";

/** Renders a kustomization directory with the real kustomize. */
export function renderKustomization(dir: string): K8sObject[] {
  const kustomize = findKustomize();
  if (!kustomize) throw new Error(KUSTOMIZE_SKIP);
  const res = spawnSync(kustomize.command, [...kustomize.args, dir], { encoding: "utf8", timeout: 60_000 });
  if (res.status !== 0) throw new Error(`${kustomize.command} ${kustomize.args.join(" ")} ${dir} failed: ${res.stderr || res.error?.message}`);
  return parseYamlDocuments(res.stdout, dir).map((d) => asK8sObject(d, dir));
}

export function renderOverlay(overlay: Overlay): K8sObject[] {
  return renderKustomization(join(K8S_DIR, "overlays", overlay));
}

/** Source files under a folder, recursively. */
export function listFiles(dir: string, suffix: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return listFiles(p, suffix);
    return e.name.endsWith(suffix) ? [p] : [];
  });
}

/**
 * Environment variable names the code under src/ reads: `env.NAME` / `env["NAME"]` (which
 * covers `process.env.NAME`), plus the upper-case string literals of files that read the
 * environment (`pick("port", "PORT")`-style resolvers). Derived from the source on every run.
 */
export function envVarsReadBySource(): Set<string> {
  const names = new Set<string>();
  for (const file of listFiles(join(REPO, "src"), ".ts")) {
    const text = readFileSync(file, "utf8");
    for (const m of text.matchAll(/\benv\s*(?:\.\s*([A-Z][A-Z0-9_]*)\b|\[\s*["']([A-Z][A-Z0-9_]*)["']\s*\])/g)) names.add(m[1] ?? m[2]);
    if (/process\.env\b/.test(text)) {
      for (const m of text.matchAll(/["']([A-Z][A-Z0-9]*_[A-Z0-9_]+|[A-Z]{3,})["']/g)) names.add(m[1]);
    }
  }
  return names;
}

export interface CliCommandInfo {
  name: string;
  options: string[];
  subcommands: Map<string, CliCommandInfo>;
}

/**
 * The real `polarity` command tree (commander), with each command's long and short flags. The
 * modules are the ones src/cli/main.ts registers (read from its `import("./x.js")` list: main.ts
 * itself runs the CLI when imported).
 */
export async function loadCliCommands(): Promise<Map<string, CliCommandInfo>> {
  const { Command } = await import("commander");
  const program = new Command();
  const modules = [...readText("src/cli/main.ts").matchAll(/import\(\s*"\.\/([\w-]+)\.js"\s*\)/g)].map((m) => m[1]);
  if (modules.length === 0) throw new Error("src/cli/main.ts registers no command module");
  for (const name of modules) {
    const mod = (await import(join(REPO, "src", "cli", `${name}.ts`))) as { register?: (p: InstanceType<typeof Command>) => void };
    mod.register?.(program);
  }
  type Cmd = { name(): string; options: readonly { long?: string; short?: string }[]; commands: readonly Cmd[] };
  const walk = (cmd: Cmd): CliCommandInfo => ({
    name: cmd.name(),
    options: cmd.options.flatMap((o) => [o.long, o.short].filter((f): f is string => typeof f === "string")),
    subcommands: new Map(cmd.commands.map((c) => [c.name(), walk(c)])),
  });
  return walk(program as unknown as Cmd).subcommands;
}

/**
 * Checks one `polarity …` invocation (argv after `polarity`) against the real command tree:
 * the command (and subcommand) exists and every `--flag` is one of its options. Returns the
 * problems found, empty when it is a valid invocation.
 */
export function checkCliInvocation(commands: Map<string, CliCommandInfo>, argv: string[]): string[] {
  const [first, ...rest] = argv;
  let cmd = commands.get(first);
  if (!cmd) return [`'polarity ${first}' is not a command`];
  let args = rest;
  if (cmd.subcommands.size > 0 && args[0] && !args[0].startsWith("-")) {
    const sub = cmd.subcommands.get(args[0]);
    if (!sub) return [`'polarity ${first} ${args[0]}' is not a command`];
    cmd = sub;
    args = args.slice(1);
  }
  const problems: string[] = [];
  for (const arg of args) {
    if (!arg.startsWith("-") || arg === "-" || arg === "--") continue;
    const flag = arg.split("=")[0];
    const negated = flag.startsWith("--no-") ? `--${flag.slice(5)}` : undefined;
    if (!cmd.options.includes(flag) && flag !== "--help" && !(negated && cmd.options.includes(flag))) {
      problems.push(`'polarity ${argv.join(" ")}': ${flag} is not an option of '${cmd.name}'`);
    }
  }
  return problems;
}
