#!/usr/bin/env node
import { Command, CommanderError } from "commander";
import { reportAndExit } from "./run-command.js";

// One line per command module; each exports `register(program)` and stays thin.
const commandModules: Array<() => Promise<{ register(program: Command): void }>> = [
  () => import("./server.js"),
  () => import("./ui.js"),
  () => import("./runs.js"),
  () => import("./models.js"),
  () => import("./cv.js"),
  () => import("./predict.js"),
  () => import("./repro.js"),
  () => import("./status.js"),
  () => import("./dag.js"),
  () => import("./params.js"),
  () => import("./metrics.js"),
  () => import("./plots.js"),
  () => import("./data.js"),
  () => import("./stage.js"),
  () => import("./promote.js"),
  () => import("./start.js"),
  () => import("./serve.js"),
];

export async function buildProgram(): Promise<Command> {
  const program = new Command();
  program
    .name("polarity")
    .description("End-to-end MLOps for text sentiment analysis: data, features, models, tracking, serving.")
    .version("0.1.0")
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride();
  for (const load of commandModules) (await load()).register(program);
  return program;
}

async function main(): Promise<void> {
  const program = await buildProgram();
  try {
    await program.parseAsync(process.argv);
  } catch (err) {
    // commander already printed its message for usage errors and --help/--version.
    if (err instanceof CommanderError) process.exit(err.exitCode === 1 ? 2 : err.exitCode);
    reportAndExit(err);
  }
}

await main();
