import { PolarityError, errorMessage } from "../util/errors.js";

/**
 * Wraps a command's action so that every failure ends as one clear line on stderr and a
 * non-zero exit code, never a stack trace (set POLARITY_DEBUG=1 to see the stack).
 */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<void> | void): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (err) {
      reportAndExit(err);
    }
  };
}

export function reportAndExit(err: unknown): never {
  if (process.env.POLARITY_DEBUG && err instanceof Error) console.error(err.stack);
  const code = err instanceof PolarityError ? err.exitCode : 1;
  console.error(`error: ${errorMessage(err)}`);
  process.exit(code);
}
