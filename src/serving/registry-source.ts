import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TrackingClient } from "../tracking/client.js";
import type { ModelVersion } from "../tracking/types.js";
import { parseModelUri } from "../tracking/uri.js";
import { NotFoundError, PolarityError } from "../util/errors.js";
import { findModelFile, loadModelBytes, type ModelLoadGuard, type ModelParser, type ModelSource, type ResolvedModelFile } from "./model-source.js";
import { checkModelSize } from "./validate.js";

/** Aliases that fall back when unset: production → staging → the newest version. */
const FALLBACKS: Record<string, string[]> = { production: ["staging"], staging: [] };

/**
 * A model in the registry (Polarity's embedded store or any MLflow server), named by a
 * `models:/` or `runs:/` URI. `resolve()` costs one registry call per poll for an alias
 * (`getModelVersionByAlias`); `load()` downloads the version's artifacts to a temp
 * directory, parses the model file and removes the copy.
 *
 * `models:/name@production` falls back to `@staging`, then to the newest version (versions
 * compared as numbers) when the alias is not set; the choice is reported in `note` (the
 * model holder logs it whenever it changes). Other aliases, versions, stages and `latest`
 * resolve exactly.
 */
export class RegistryModelSource implements ModelSource {
  constructor(
    private readonly uri: string,
    private readonly client: TrackingClient,
    private readonly parse: ModelParser,
    private readonly guard: ModelLoadGuard = {},
  ) {}

  static create(uri: string, parse: ModelParser, trackingUri?: string, guard: ModelLoadGuard = {}): RegistryModelSource {
    if (uri.startsWith("models:")) parseModelUri(uri); // a malformed URI fails here, before serving
    return new RegistryModelSource(uri, TrackingClient.open(trackingUri ? { trackingUri } : {}), parse, guard);
  }

  describe(): string {
    return `${this.uri} (tracking ${this.client.trackingUri})`;
  }

  async close(): Promise<void> {
    await this.client.close();
  }

  async resolve(): Promise<ResolvedModelFile> {
    if (this.uri.startsWith("runs:")) {
      // A run's artifacts never change: the URI itself is the version.
      return { name: this.uri.slice("runs:/".length).split("/")[0], version: this.uri, load: (options) => this.download(this.uri, options?.whileServing) };
    }
    const parsed = parseModelUri(this.uri);
    let mv: ModelVersion;
    let alias: string | undefined;
    let note: string | undefined;
    if (parsed.kind === "alias") {
      const chain = [parsed.alias, ...(FALLBACKS[parsed.alias.toLowerCase()] ?? [])];
      const found = await this.firstAlias(parsed.name, chain);
      if (found) {
        ({ mv, alias } = found);
        if (alias !== parsed.alias) note = `alias '${parsed.alias}' is not set; using '@${alias}' (version ${mv.version})`;
      } else if (parsed.alias.toLowerCase() in FALLBACKS) {
        mv = (await this.client.resolveModelUri(`models:/${parsed.name}/latest`)).modelVersion;
        note = `no alias of ${chain.map((a) => `'${a}'`).join(", ")} is set; using the newest version ${mv.version}`;
      } else {
        throw new NotFoundError(`registered model '${parsed.name}' has no alias '${parsed.alias}'`);
      }
    } else {
      mv = (await this.client.resolveModelUri(this.uri)).modelVersion;
    }
    const modelUri = `models:/${mv.name}/${mv.version}`;
    return {
      name: mv.name,
      version: mv.version,
      ...(alias !== undefined ? { alias } : {}),
      note: note ?? `${this.uri} resolves to ${mv.name} version ${mv.version}`,
      load: (options) => this.download(modelUri, options?.whileServing),
    };
  }

  private async firstAlias(name: string, aliases: string[]): Promise<{ mv: ModelVersion; alias: string } | undefined> {
    for (const alias of aliases) {
      try {
        return { mv: await this.client.getModelVersionByAlias(name, alias), alias };
      } catch (err) {
        if (err instanceof PolarityError && err.code === "RESOURCE_DOES_NOT_EXIST") continue;
        throw err;
      }
    }
    return undefined;
  }

  private async download(uri: string, whileServing = false) {
    const dir = await mkdtemp(join(tmpdir(), "polarity-model-"));
    try {
      const local = await this.client.downloadArtifacts(uri, dir);
      const file = await findModelFile(local);
      const where = `${uri} (${file.slice(dir.length + 1)})`;
      if (this.guard.maxBytes !== undefined) checkModelSize((await stat(file)).size, this.guard.maxBytes, where);
      return await loadModelBytes(await readFile(file), where, this.parse, this.guard, whileServing);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
}
