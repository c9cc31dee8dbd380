import { writeSync } from "node:fs";

/**
 * Writes `text` to standard output synchronously through fd 1, for a command's one final
 * answer: touching process.stdout builds a stream (for a file, a pipe or a terminal: 20 to 30
 * of Node's internal modules, a few ms of `polarity status`'s start: bench/cli.ts, issue 12).
 * A non-blocking fd 1 that is full (EAGAIN) gets the rest through process.stdout, which waits.
 */
export function writeStdout(text: string): void {
  const bytes = Buffer.from(text, "utf8");
  let written = 0;
  try {
    while (written < bytes.length) written += writeSync(1, bytes, written);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EAGAIN") throw err;
    process.stdout.write(bytes.subarray(written));
  }
}
