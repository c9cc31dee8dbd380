/**
 * Commands the launcher (src/cli/launch.ts) runs from the code-cached CommonJS bundle: the
 * pipeline's everyday ones, which start no worker threads or cluster workers (those find their
 * entry files as ESM beside the ESM bundle). src/cli/bundle.ts keeps only their modules in it.
 */
export const CACHED_COMMANDS: ReadonlySet<string> = new Set(["status", "repro", "dag", "params", "metrics"]);
