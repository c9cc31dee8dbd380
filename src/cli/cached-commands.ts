/**
 * Commands the launcher (src/cli/launch.ts) runs from the code-cached CommonJS bundle
 * polarity.cjs: the pipeline's everyday ones, which start no worker threads or cluster workers
 * (those find their entry files as ESM beside the ESM bundle). src/cli/bundle.ts keeps only
 * their modules in it. `status` has a code-cached bundle of its own (polarity-status.cjs).
 */
export const CACHED_COMMANDS: ReadonlySet<string> = new Set(["repro", "dag", "params", "metrics"]);
