import fs from "node:fs";
import path from "node:path";
import { DataError, NotFoundError } from "../util/errors.js";
import { LocalRemote, type Remote } from "./objects/remote.js";

/** `.dvc/config` merged with `.dvc/config.local`: section name → key → value. */
export type DvcConfig = Map<string, Map<string, string>>;

/**
 * Parses DVC's INI config (configobj style). Section names appear as `[core]` and, for
 * remotes, `['remote "name"']` (as DVC writes them) or `[remote "name"]`.
 */
export function parseConfig(text: string, label: string, into: DvcConfig = new Map()): DvcConfig {
  let section: Map<string, string> | null = null;
  text.split(/\r?\n/).forEach((rawLine, i) => {
    const line = rawLine.trim();
    if (!line || line.startsWith("#") || line.startsWith(";")) return;
    const sec = /^\[\s*(.+?)\s*\]$/.exec(line);
    if (sec) {
      let name = sec[1];
      if ((name.startsWith("'") && name.endsWith("'")) || (name.startsWith('"') && name.endsWith('"') && !/^"[^"]*" *"/.test(name))) name = name.slice(1, -1);
      name = name.replace(/\s+/g, " ");
      section = into.get(name) ?? new Map();
      into.set(name, section);
      return;
    }
    const kv = /^([^=]+?)\s*=\s*(.*)$/.exec(line);
    if (!kv || !section) throw new DataError(`${label}:${i + 1}: cannot parse '${line}' (expected [section] or key = value)`);
    let value = kv[2];
    if ((value.startsWith("'") && value.endsWith("'")) || (value.startsWith('"') && value.endsWith('"'))) value = value.slice(1, -1);
    section.set(kv[1].trim(), value);
  });
  return into;
}

export function loadConfig(root: string): DvcConfig {
  const cfg: DvcConfig = new Map();
  for (const name of ["config", "config.local"]) {
    const file = path.join(root, ".dvc", name);
    if (fs.existsSync(file)) parseConfig(fs.readFileSync(file, "utf8"), `.dvc/${name}`, cfg);
  }
  return cfg;
}

export interface RemoteConfig {
  name: string;
  url: string;
  options: Map<string, string>;
}

/** The named remote, or `core.remote` when no name is given. */
export function remoteConfig(root: string, name?: string): RemoteConfig {
  const cfg = loadConfig(root);
  const chosen = name ?? cfg.get("core")?.get("remote");
  const names = [...cfg.keys()].filter((k) => k.startsWith('remote "')).map((k) => k.slice(8, -1));
  if (!chosen) {
    const hint = names.length
      ? `pass -r with one of: ${names.join(", ")}, or set 'remote = <name>' under [core] in .dvc/config`
      : `add to .dvc/config a section ['remote "storage"'] with 'url = /path/or/s3://bucket/prefix' and 'remote = storage' under [core]`;
    throw new NotFoundError(`no remote given and no default remote set: ${hint}`);
  }
  const section = cfg.get(`remote "${chosen}"`);
  if (!section) throw new NotFoundError(`remote '${chosen}' is not configured in .dvc/config${names.length ? ` (configured: ${names.join(", ")})` : ""}`);
  const url = section.get("url");
  if (!url) throw new DataError(`.dvc/config: remote '${chosen}' has no url`);
  return { name: chosen, url, options: section };
}

/** Builds the remote named in `.dvc/config` (or the default one). Relative local paths are relative to `.dvc/`, as in DVC. */
export async function openRemote(root: string, name?: string): Promise<Remote> {
  const cfg: RemoteConfig = remoteConfig(root, name);
  if (cfg.url.startsWith("s3://")) {
    // Loaded on demand: the AWS SDK is large and most commands never talk to S3.
    const { S3Remote } = await import("./objects/s3-remote.js");
    return new S3Remote(cfg.name, cfg.url, cfg.options);
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(cfg.url) && !cfg.url.startsWith("file://")) {
    throw new DataError(`remote '${cfg.name}': unsupported url '${cfg.url}' (Polarity supports local directories and s3://)`);
  }
  const p = cfg.url.startsWith("file://") ? cfg.url.slice(7) : cfg.url;
  return new LocalRemote(cfg.name, path.resolve(root, ".dvc", p));
}
