/**
 * The launcher parses `polarity status`'s everyday command lines itself (src/cli/status-args.ts)
 * and runs the status bundle without commander; whatever it accepts must mean exactly what
 * commander makes of it (targets and options as the action receives them), and whatever it
 * leaves to commander must include every line commander answers with help, the version or an error.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Command, CommanderError } from "commander";
import { parseStatusArgs } from "../../src/cli/status-args.js";
import { register } from "../../src/cli/status.js";

/** What commander gives status's action for `status ...args` (the real registration), or how it ended. */
function commanderParse(args: string[]): { targets: string[]; options: Record<string, unknown> } | { exit: string } {
  const program = new Command()
    .name("polarity")
    .version("0.0.0")
    .exitOverride()
    .configureOutput({ writeOut: () => {}, writeErr: () => {} });
  register(program);
  const status = program.commands.find((c) => c.name() === "status")!;
  status.exitOverride().configureOutput({ writeOut: () => {}, writeErr: () => {} });
  let got: { targets: string[]; options: Record<string, unknown> } | undefined;
  status.action((targets: string[], options: Record<string, unknown>) => {
    got = { targets, options: { ...options } };
  });
  try {
    program.parse(["node", "polarity", "status", ...args]);
  } catch (err) {
    if (err instanceof CommanderError) return { exit: err.code };
    throw err;
  }
  return got!;
}

const ACCEPTED = [
  [],
  ["train"],
  ["prepare", "train"],
  ["-s"],
  ["--single-item", "train"],
  ["--json"],
  ["-q"],
  ["--quiet"],
  ["train", "--json", "prepare", "-s"],
  ["--json", "--json"],
  ["-q", "--json", "-s", "a@1", "b.c"],
  [""],
];

const LEFT_TO_COMMANDER = [
  ["--help"],
  ["-h"],
  ["train", "--help"],
  ["--version"],
  ["-V"],
  ["-sq"],
  ["--no-such-flag"],
  ["--json=yes"],
  ["--", "-s"],
  ["-1"],
  ["--single"],
  ["-"],
];

describe("status command lines: the launcher's parser and commander agree", () => {
  test("every line the launcher accepts parses to commander's targets and options", () => {
    for (const args of ACCEPTED) {
      const ours = parseStatusArgs(args);
      assert.ok(ours !== null, `the launcher should accept ${JSON.stringify(args)}`);
      assert.deepEqual(ours, commanderParse(args), JSON.stringify(args));
    }
  });

  test("help, version, unknown, combined and '--' lines are left to commander", () => {
    for (const args of LEFT_TO_COMMANDER) assert.equal(parseStatusArgs(args), null, JSON.stringify(args));
    // Sanity: commander does stop or reject on the ones that are not plain lines.
    for (const args of [["--help"], ["--version"], ["--no-such-flag"], ["--json=yes"]]) assert.ok("exit" in commanderParse(args), JSON.stringify(args));
  });
});
