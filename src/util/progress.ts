import cliProgress from "cli-progress";

/**
 * How stages talk to the user: `log` prints one line of what is being done (with counts);
 * `progress` reports a long step (vectorizing, fitting, cross-validation). On a TTY that is a
 * live progress bar; otherwise (CI logs, `polarity repro` piping a stage's output) a plain
 * line at most every `intervalMs` (default 2 s) while the step runs, so a quick step prints
 * nothing extra and a long one shows it is alive without flooding the log.
 */
export interface Reporter {
  log(line: string): void;
  progress(phase: string, done: number, total: number): void;
  /** Finishes any open bar. */
  close(): void;
}

export interface ReporterOptions {
  stream?: NodeJS.WriteStream;
  /** Force bars on/off; default: the stream is a TTY. */
  tty?: boolean;
  /** Prefix of every line, e.g. "[train] ". */
  prefix?: string;
  /** Print nothing (for --json and library use). */
  quiet?: boolean;
  /** Non-TTY: minimum time between progress lines. Default 2000 ms. */
  intervalMs?: number;
}

export function createReporter(opts: ReporterOptions = {}): Reporter {
  const stream = opts.stream ?? process.stdout;
  const tty = opts.tty ?? Boolean(stream.isTTY);
  const prefix = opts.prefix ?? "";
  if (opts.quiet) return { log: () => {}, progress: () => {}, close: () => {} };

  let bar: cliProgress.SingleBar | null = null;
  let barPhase = "";
  const intervalMs = opts.intervalMs ?? 2000;
  let linePhase = "";
  let lastLineAt = 0;

  const closeBar = (): void => {
    if (bar) {
      bar.stop();
      bar = null;
      barPhase = "";
    }
  };

  return {
    log(line: string): void {
      closeBar();
      stream.write(`${prefix}${line}\n`);
    },
    progress(phase: string, done: number, total: number): void {
      if (!(total > 0)) return;
      const clamped = Math.min(Math.max(done, 0), total);
      if (tty) {
        if (!bar || barPhase !== phase) {
          closeBar();
          bar = new cliProgress.SingleBar(
            {
              stream,
              format: `${prefix}${phase} [{bar}] {percentage}% | {value}/{total} | {duration_formatted}`,
              hideCursor: true,
              clearOnComplete: false,
              etaBuffer: 20,
            },
            cliProgress.Presets.shades_classic,
          );
          bar.start(total, clamped);
          barPhase = phase;
        } else {
          bar.setTotal(total);
          bar.update(clamped);
        }
        if (clamped >= total) closeBar();
        return;
      }
      const now = Date.now();
      if (linePhase !== phase) {
        linePhase = phase;
        lastLineAt = now;
        return;
      }
      if (now - lastLineAt >= intervalMs) {
        lastLineAt = now;
        stream.write(`${prefix}${phase}: ${Math.floor((clamped / total) * 100)}% (${clamped}/${total})\n`);
      }
    },
    close: closeBar,
  };
}

/** Milliseconds as "1.23 s" / "456 ms". */
export function formatDuration(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`;
}
