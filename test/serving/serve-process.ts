import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { request as httpRequest } from "node:http";
import { createInterface } from "node:readline";

/** `polarity serve ...` as a real subprocess, with its log lines (pino JSON) readable as they come. */
export class ServeProcess {
  readonly child: ChildProcess;
  private readonly lines: Array<Record<string, unknown>> = [];
  private readonly waiters: Array<{ match: (l: Record<string, unknown>) => boolean; resolve: (l: Record<string, unknown>) => void }> = [];
  readonly exited: Promise<number | null>;
  stderr = "";

  constructor(args: string[], env: Record<string, string> = {}) {
    this.child = spawn(process.execPath, ["--import", "tsx", "src/cli/main.ts", "serve", ...args], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, LOG_LEVEL: "info", ...env },
    });
    this.exited = once(this.child, "exit").then(([code]) => code as number | null);
    this.child.stderr!.on("data", (d: Buffer) => (this.stderr += d.toString()));
    createInterface({ input: this.child.stdout! }).on("line", (line) => {
      let parsed: Record<string, unknown>;
      try {
        parsed = JSON.parse(line) as Record<string, unknown>;
      } catch {
        parsed = { msg: line };
      }
      this.lines.push(parsed);
      for (let i = this.waiters.length - 1; i >= 0; i--) {
        if (this.waiters[i].match(parsed)) this.waiters.splice(i, 1)[0].resolve(parsed);
      }
    });
  }

  /** Resolves with the first log line (past or future) matching; rejects if the process exits first. */
  waitForLog(match: (l: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> {
    const seen = this.lines.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      this.waiters.push({ match, resolve });
      this.exited.then((code) => reject(new Error(`serve exited (${code}) before the expected log line; stderr: ${this.stderr}`)));
    });
  }

  /** Every log line so far, raw (as the process printed it, re-serialised). */
  get logLines(): ReadonlyArray<Record<string, unknown>> {
    return this.lines;
  }

  allLogText(): string {
    return this.lines.map((l) => JSON.stringify(l)).join("\n") + this.stderr;
  }

  async url(): Promise<string> {
    const line = await this.waitForLog((l) => typeof l.msg === "string" && /^serving .* on http/.test(l.msg));
    return String(line.url);
  }
}

export function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    // agent: false → a fresh connection per request (so the cluster balances them).
    httpRequest(url, { agent: false }, (res) => {
      let body = "";
      res.on("data", (d: Buffer) => (body += d.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    })
      .on("error", reject)
      .end();
  });
}
