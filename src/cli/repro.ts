import type { Command } from "commander";
import { action } from "./run-command.js";
import { reproduce, StageFailedError } from "../pipeline/repro.js";
import { findRoot } from "../pipeline/repo.js";
import { ensurePolarityOnPath } from "../stages/self-command.js";
import { requireInteger } from "../util/validate.js";

export function register(program: Command): void {
  program
    .command("repro")
    .description("Reproduce the pipeline in dvc.yaml: rerun the stages whose cmd, deps, params or outs changed, and update dvc.lock")
    .argument("[targets...]", "stages to reproduce (default: all), with their upstream stages")
    .option("-f, --force", "rerun the selected stages even if nothing changed (frozen stages still never run)")
    .option("-s, --single-item", "reproduce only the targets, not their upstream stages")
    .option("--downstream", "reproduce the targets and every stage downstream of them")
    .option("--dry", "print the stages that would run, run nothing")
    .option("-k, --keep-going", "after a failure, continue with the stages that do not depend on it")
    .option("-j, --jobs <n>", "run up to n independent stages at once", "1")
    .option("--wait", "wait for another process's project lock instead of failing")
    .option("--no-run-cache", "always run changed stages, never restore their outputs from the run-cache")
    .option("--json", "print the per-stage outcome as JSON at the end")
    .action(
      action(
        async (
          targets: string[],
          o: {
            force?: boolean;
            singleItem?: boolean;
            downstream?: boolean;
            dry?: boolean;
            keepGoing?: boolean;
            jobs: string;
            wait?: boolean;
            runCache: boolean;
            json?: boolean;
          },
        ) => {
          const jobs = requireInteger("--jobs", Number(o.jobs), 1, 256);
          const quiet = { info: (l: string) => process.stderr.write(l + "\n"), output: (l: string) => process.stderr.write(l + "\n") };
          const root = findRoot();
          // Stages written as `polarity …` (like this repo's dvc.yaml) must find this very CLI even
          // when it is not installed globally: put a shim for it first on the stages' PATH.
          if (!o.dry) await ensurePolarityOnPath(root);
          const res = await reproduce({
            root,
            targets,
            force: o.force,
            single: o.singleItem,
            downstream: o.downstream,
            dry: o.dry,
            keepGoing: o.keepGoing,
            jobs,
            wait: o.wait,
            noRunCache: !o.runCache,
            log: o.json ? quiet : undefined,
          });
          if (o.json) process.stdout.write(JSON.stringify(res, null, 2) + "\n");
          else if (res.ok) {
            const ran = res.ran.length + res.restored.length;
            process.stdout.write(ran === 0 && !o.dry ? "Data and pipelines are up to date.\n" : "");
          }
          if (!res.ok)
            throw new StageFailedError(
              `failed to reproduce ${res.failed.map((f) => `'${f}'`).join(", ")}: ${res.stages
                .filter((s) => s.error)
                .map((s) => s.error)
                .join("; ")}`,
            );
        },
      ),
    );
}
