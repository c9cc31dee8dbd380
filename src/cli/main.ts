#!/usr/bin/env node
import module from "node:module";
import type { Command } from "commander";
import { VERSION } from "./version.js";

// Node >= 22.1 keeps compiled code on disk between runs (a large share of CLI start-up);
// enabled before anything else loads, hence no other static imports here but version.js (one constant).
// Not in the code-cached CommonJS bundle (bundle.ts drops the label): the launcher compiles that
// from its own cache, and touching node:module would load it and Node's ESM loader for nothing.
// eslint-disable-next-line no-unused-labels
ESM_ENTRY: (module as { enableCompileCache?: () => unknown }).enableCompileCache?.();

type CommandModule = { register(program: Command): void };

// One line per command module, with the top-level command names it registers (each module
// exports `register(program)` and stays thin). Only the module of the command being run is
// loaded, so `polarity status` does not pay for the servers', the UI's or the trainers' imports
// (whole-process start is a figure users see: bench/pipeline.ts). --help and unknown commands load all.
const commandModules: Array<[names: string[], load: () => Promise<CommandModule>]> = [
  [["server"], () => import("./server.js")],
  [["ui"], () => import("./ui.js")],
  [["db"], () => import("./db.js")],
  [["runs"], () => import("./runs.js")],
  [["models"], () => import("./models.js")],
  [["cv"], () => import("./cv.js")],
  [["check"], () => import("./check.js")],
  [["predict"], () => import("./predict.js")],
  [["tune"], () => import("./tune.js")],
  [["compare"], () => import("./compare.js")],
  [["repro"], () => import("./repro.js")],
  [["status"], () => import("./status.js")],
  [["dag"], () => import("./dag.js")],
  [["params"], () => import("./params.js")],
  [["metrics"], () => import("./metrics.js")],
  [["plots"], () => import("./plots.js")],
  [["add", "checkout", "push", "fetch", "pull", "gc"], () => import("./data.js")],
  [["stage"], () => import("./stage.js")],
  [["promote"], () => import("./promote.js")],
  [["start"], () => import("./start.js")],
  [["serve"], () => import("./serve.js")],
  [["monitor"], () => import("./monitor.js")],
];

/** The CLI with every command (or, given a command name, only the module that registers it). */
export async function buildProgram(only?: string): Promise<Command> {
  const { Command } = await import("commander");
  const program = new Command();
  program
    .name("polarity")
    .description("End-to-end MLOps for text sentiment analysis: data, features, models, tracking, serving.")
    .version(VERSION)
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride();
  const one = only === undefined ? undefined : commandModules.find(([names]) => names.includes(only));
  for (const [, load] of one ? [one] : commandModules) (await load()).register(program);
  return program;
}

async function main(): Promise<void> {
  const first = process.argv[2];
  if (process.argv.length === 3 && (first === "--version" || first === "-V")) {
    process.stdout.write(`${VERSION}\n`);
    return;
  }
  const program = await buildProgram(first && !first.startsWith("-") ? first : undefined);
  const { CommanderError } = await import("commander");
  try {
    await program.parseAsync(process.argv);
  } catch (err) {
    const { reportAndExit } = await import("./run-command.js");
    // commander already printed its message for usage errors and --help/--version.
    if (err instanceof CommanderError) process.exit(err.exitCode === 1 ? 2 : err.exitCode);
    reportAndExit(err);
  }
}

// Not a top-level await: this file is also the entry of the CommonJS bundle (src/cli/bundle.ts).
main().catch(async (err: unknown) => {
  const { reportAndExit } = await import("./run-command.js");
  reportAndExit(err);
});
