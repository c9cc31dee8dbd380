import { appendFile, mkdir, rename, rm, stat } from "node:fs/promises";
import { join, resolve } from "node:path";

/**
 * An append-only JSONL file with size-based rotation (`name.jsonl` → `name.1.jsonl` → …,
 * `keep` old files). Lines are queued in memory (bounded; beyond `maxPending` they are
 * dropped and counted) and written by flush(), which the monitor calls on its timer, so
 * the request path never touches the disk.
 */
export class JsonlLog {
  readonly path: string;
  private pending: string[] = [];
  private pendingBytes = 0;
  private size = -1;
  private flushing: Promise<void> | null = null;
  dropped = 0;
  written = 0;

  constructor(
    readonly dir: string,
    readonly name: string,
    private readonly maxBytes = 64 * 1024 * 1024,
    private readonly keep = 5,
    private readonly maxPending = 100_000,
  ) {
    this.path = join(resolve(dir), `${name}.jsonl`);
  }

  push(line: string): void {
    if (this.pending.length >= this.maxPending) {
      this.dropped++;
      return;
    }
    this.pending.push(line);
    this.pendingBytes += line.length + 1;
  }

  /** Writes every queued line, including lines queued while an earlier write was in flight (one write at a time). */
  async flush(): Promise<void> {
    while (this.pending.length > 0 || this.flushing) {
      if (!this.flushing) this.flushing = this.write().finally(() => (this.flushing = null));
      await this.flushing;
    }
  }

  private async write(): Promise<void> {
    const lines = this.pending;
    const bytes = this.pendingBytes;
    this.pending = [];
    this.pendingBytes = 0;
    if (this.size < 0) {
      await mkdir(this.dir, { recursive: true });
      this.size = await stat(this.path).then(
        (s) => s.size,
        () => 0,
      );
    }
    if (this.size > 0 && this.size + bytes > this.maxBytes) await this.rotate();
    await appendFile(this.path, lines.join("\n") + "\n", { mode: 0o640 });
    this.size += bytes;
    this.written += lines.length;
  }

  private async rotate(): Promise<void> {
    const file = (i: number): string => join(resolve(this.dir), `${this.name}.${i}.jsonl`);
    await rm(file(this.keep), { force: true });
    for (let i = this.keep - 1; i >= 1; i--) await rename(file(i), file(i + 1)).catch(() => undefined);
    if (this.keep >= 1) await rename(this.path, file(1));
    else await rm(this.path, { force: true });
    this.size = 0;
  }
}

/** The files of a rotated log, oldest first (what `polarity monitor report` reads). */
export function rotatedLogFiles(dir: string, name: string, keep = 20): string[] {
  const files: string[] = [];
  for (let i = keep; i >= 1; i--) files.push(join(dir, `${name}.${i}.jsonl`));
  files.push(join(dir, `${name}.jsonl`));
  return files;
}
