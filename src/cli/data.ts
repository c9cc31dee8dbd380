import type { Command } from "commander";
import { action } from "./run-command.js";
import { addData, checkoutData, fetchData, gcCache, pullData, pushData } from "../pipeline/data-versioning.js";

const say =
  (json?: boolean) =>
  (line: string): void => {
    (json ? process.stderr : process.stdout).write(line + "\n");
  };
const printJson = (v: unknown): void => {
  process.stdout.write(JSON.stringify(v, null, 2) + "\n");
};

export function register(program: Command): void {
  program
    .command("add")
    .description("Track a file or directory: store it in the cache and write <path>.dvc beside it")
    .argument("<targets...>", "files or directories")
    .option("--json", "print as JSON")
    .action(
      action(async (targets: string[], o: { json?: boolean }) => {
        const res = await addData({ targets, log: say(o.json), warn: (l) => process.stderr.write(l + "\n") });
        if (o.json) printJson(res);
      }),
    );
  program
    .command("checkout")
    .description("Restore tracked files from the cache (.dvc files and dvc.lock outs), verifying hashes")
    .argument("[targets...]", "paths or .dvc files (default: everything)")
    .option("-f, --force", "overwrite workspace changes that are not in the cache")
    .option("--json", "print as JSON")
    .action(
      action(async (targets: string[], o: { force?: boolean; json?: boolean }) => {
        const res = await checkoutData({ targets, force: o.force, log: say(o.json) });
        if (o.json) printJson(res);
        else if (res.added.length + res.modified.length === 0) process.stdout.write("Everything is up to date.\n");
      }),
    );
  for (const [name, desc] of [
    ["push", "Upload cached data the workspace references to a remote"],
    ["fetch", "Download referenced data from a remote into the cache"],
    ["pull", "Fetch, then checkout"],
  ] as const) {
    program
      .command(name)
      .description(desc)
      .argument("[targets...]", "paths or .dvc files (default: everything)")
      .option("-r, --remote <name>", "remote from .dvc/config (default: core.remote)")
      .option("--json", "print as JSON")
      .action(
        action(async (targets: string[], o: { remote?: string; json?: boolean }) => {
          const opts = { targets, remote: o.remote, log: say(o.json) };
          const res = name === "push" ? await pushData(opts) : name === "fetch" ? await fetchData(opts) : await pullData(opts);
          if (o.json) printJson(res);
        }),
      );
  }
  program
    .command("gc")
    .description("Remove cache objects that no .dvc file or dvc.lock in the workspace references")
    .option("-w, --workspace", "keep what the workspace uses (the default and only mode)")
    .option("--dry", "only report what would be removed")
    .option("--json", "print as JSON")
    .action(
      action(async (o: { dry?: boolean; json?: boolean }) => {
        const res = await gcCache({ dry: o.dry, log: say(o.json) });
        if (o.json) printJson(res);
      }),
    );
}
