/**
 * `polarity status`'s options, declared once: src/cli/status.ts registers them with commander,
 * and the launcher (src/cli/launch.ts) reads the everyday forms of the command line with
 * parseStatusArgs, so that a plain `status` runs without commander (loading and setting it
 * up was ~3 ms and a third of the code a `status` start read and deserialised: bench/cli.ts,
 * issue 12). Imports nothing: it is part of the launcher.
 */

export interface StatusOptions {
  singleItem?: boolean;
  json?: boolean;
  quiet?: boolean;
}

/** Each option: commander's flags, the key commander stores it under, its help text. */
export const STATUS_OPTIONS: ReadonlyArray<{ flags: string; key: keyof StatusOptions; description: string }> = [
  { flags: "-s, --single-item", key: "singleItem", description: "check only the targets, not their upstream stages" },
  { flags: "--json", key: "json", description: 'print as JSON, in DVC\'s shape: {stage: [{"changed deps": {...}}, ...]}' },
  { flags: "-q, --quiet", key: "quiet", description: "print nothing; exit 1 when something changed, 0 when up to date" },
];

/**
 * The targets and options of `status <args...>` as commander parses them, when every argument
 * is one of STATUS_OPTIONS' flags as written there or a target not starting with "-"; null for
 * anything else (--help, --version, unknown or combined flags, "--", "-1"), which commander
 * then parses, prints help for or rejects. test/cli/status-args.test.ts checks both agree.
 */
export function parseStatusArgs(args: readonly string[]): { targets: string[]; options: StatusOptions } | null {
  const targets: string[] = [];
  const options: StatusOptions = {};
  for (const arg of args) {
    if (!arg.startsWith("-")) {
      targets.push(arg);
      continue;
    }
    const option = STATUS_OPTIONS.find((o) => o.flags.split(", ").includes(arg));
    if (option === undefined) return null;
    options[option.key] = true;
  }
  return { targets, options };
}
