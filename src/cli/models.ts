import type { Command } from "commander";
import { action } from "./run-command.js";
import { addTrackingOptions, formatTable, formatTime, printJson, withClient, type TrackingCliOptions } from "./tracking-format.js";
import type { ModelVersion } from "../tracking/types.js";

function versionRows(versions: ModelVersion[]): string[][] {
  return versions.map((v) => [v.version, v.current_stage, v.aliases.join(",") || "-", v.run_id || "-", formatTime(v.creation_timestamp), v.source]);
}
const VERSION_HEADERS = ["Version", "Stage", "Aliases", "Run ID", "Created", "Source"];

export function register(program: Command): void {
  const models = program.command("models").description("Inspect and promote registered models");

  addTrackingOptions(models.command("list").description("List registered models").option("--filter <expr>", "e.g. \"name LIKE 'sentiment%'\"")).action(
    action(async (o: TrackingCliOptions & { filter?: string }) => {
      await withClient(o, async (client) => {
        const all = [];
        let pageToken: string | undefined;
        do {
          const page = await client.searchRegisteredModels({ filter: o.filter, pageToken, maxResults: 1000 });
          all.push(...page.registeredModels);
          pageToken = page.nextPageToken;
        } while (pageToken);
        if (o.json) return printJson(all);
        if (all.length === 0) {
          process.stdout.write("No registered models.\n");
          return;
        }
        const rows = all.map((m) => [
          m.name,
          m.latest_versions.reduce((max, v) => Math.max(max, Number(v.version)), 0).toString(),
          m.aliases.map((a) => `${a.alias}=v${a.version}`).join(",") || "-",
          formatTime(m.last_updated_timestamp),
          m.description || "",
        ]);
        process.stdout.write(formatTable(["Name", "Latest", "Aliases", "Updated", "Description"], rows));
      });
    }),
  );

  addTrackingOptions(models.command("show").description("Show a registered model with its latest versions per stage and aliases").argument("<name>")).action(
    action(async (name: string, o: TrackingCliOptions) => {
      await withClient(o, async (client) => {
        const m = await client.getRegisteredModel(name);
        if (o.json) return printJson(m);
        process.stdout.write(
          `Model:        ${m.name}\nDescription:  ${m.description || "-"}\nCreated:      ${formatTime(m.creation_timestamp)}\nUpdated:      ${formatTime(m.last_updated_timestamp)}\n`,
        );
        process.stdout.write(`Aliases:      ${m.aliases.map((a) => `${a.alias} -> v${a.version}`).join(", ") || "-"}\n`);
        process.stdout.write(`Tags:         ${m.tags.map((t) => `${t.key}=${t.value}`).join(", ") || "-"}\n\nLatest versions per stage\n`);
        process.stdout.write(m.latest_versions.length > 0 ? formatTable(VERSION_HEADERS, versionRows(m.latest_versions)) : "  (none)\n");
      });
    }),
  );

  addTrackingOptions(models.command("versions").description("List all versions of a registered model, newest first").argument("<name>")).action(
    action(async (name: string, o: TrackingCliOptions) => {
      await withClient(o, async (client) => {
        await client.getRegisteredModel(name);
        const versions: ModelVersion[] = [];
        let pageToken: string | undefined;
        do {
          const page = await client.searchModelVersions({ filter: `name = '${name.replace(/'/g, "\\'")}'`, pageToken });
          versions.push(...page.modelVersions);
          pageToken = page.nextPageToken;
        } while (pageToken);
        versions.sort((a, b) => Number(b.version) - Number(a.version));
        if (o.json) return printJson(versions);
        process.stdout.write(versions.length > 0 ? formatTable(VERSION_HEADERS, versionRows(versions)) : `Model '${name}' has no versions.\n`);
      });
    }),
  );

  addTrackingOptions(
    models
      .command("alias")
      .description("Point an alias at a version (or remove it with --delete; with no version, print it)")
      .argument("<name>")
      .argument("<alias>")
      .argument("[version]")
      .option("--delete", "remove the alias"),
  ).action(
    action(async (name: string, alias: string, version: string | undefined, o: TrackingCliOptions & { delete?: boolean }) => {
      await withClient(o, async (client) => {
        if (o.delete) {
          await client.deleteRegisteredModelAlias(name, alias);
          if (o.json) return printJson({ name, alias, deleted: true });
          process.stdout.write(`Removed alias '${alias}' from model '${name}'.\n`);
          return;
        }
        if (version !== undefined) await client.setRegisteredModelAlias(name, alias, version);
        const mv = await client.getModelVersionByAlias(name, alias);
        if (o.json) return printJson(mv);
        process.stdout.write(`${name}@${alias} -> version ${mv.version} (stage ${mv.current_stage})\n`);
      });
    }),
  );

  addTrackingOptions(
    models
      .command("transition")
      .description("Move a version to a stage: None, Staging, Production or Archived")
      .argument("<name>")
      .argument("<version>")
      .argument("<stage>")
      .option("--archive-existing", "archive the versions currently in that stage"),
  ).action(
    action(async (name: string, version: string, stage: string, o: TrackingCliOptions & { archiveExisting?: boolean }) => {
      await withClient(o, async (client) => {
        const mv = await client.transitionModelVersionStage(name, version, stage, o.archiveExisting ?? false);
        if (o.json) return printJson(mv);
        process.stdout.write(`${name} version ${mv.version} is now in stage ${mv.current_stage}.\n`);
      });
    }),
  );
}
