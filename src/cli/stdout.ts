import { writeSync } from "node:fs";

/**
 * Writes `text` to standard output synchronously through fd 1, for a command's one final
 * answer: touching process.stdout builds a stream (for a file, a pipe or a terminal: 20 to 30
 * of Node's internal modules, a few ms of `polarity status`'s start: bench/cli.ts, issue 12).
 * A non-blocking fd 1 that is full (EAGAIN) gets the rest through process.stdout, which waits.
 * Returns whether every byte went out synchronously (see exitWhenWritten).
 */
export function writeStdout(text: string): boolean {
  const bytes = Buffer.from(text, "utf8");
  let written = 0;
  try {
    while (written < bytes.length) written += writeSync(1, bytes, written);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EAGAIN") throw err;
    process.stdout.write(bytes.subarray(written));
    return false;
  }
}

/**
 * For a one-shot command that has nothing left to do: writes its answer and ends the process
 * at once (process.exitCode stands; 'exit' listeners run). Node's own exit, after an emptied
 * event loop, also tears down the environment and the V8 heap: ~1–2 ms of `polarity status`
 * in quiet bench:cli runs, more on a loaded machine (issue 12). When part of the text had to
 * go through process.stdout, the process ends normally instead, so that nothing queued is lost.
 */
export function exitWhenWritten(text: string): void {
  if (writeStdout(text)) process.exit();
}
