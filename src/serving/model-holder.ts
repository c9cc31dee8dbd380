import { EventEmitter } from "node:events";
import type { FastifyBaseLogger } from "fastify";
import { DataError, UnavailableError, errorMessage } from "../util/errors.js";
import { canaryRefusal } from "./canary.js";
import type { LoadedModel } from "./model-types.js";
import type { ModelSource, ResolvedModelFile } from "./model-source.js";

export type ReloadOutcome =
  | { kind: "unchanged"; version: string }
  | { kind: "swapped"; from?: string; to: string }
  | { kind: "refused"; version: string; error: string }
  | { kind: "skipped-known-bad"; version: string }
  | { kind: "resolve-failed"; error: string };

export interface ModelHolderEvents {
  onSwap?(next: LoadedModel, previous: LoadedModel | null): void;
  /** Same model, new description (e.g. a second alias now points at the served version). */
  onRelabel?(next: LoadedModel, previous: LoadedModel): void;
  onLoadFailure?(version: string, error: unknown): void;
  /** The version loaded but failed the canary check (counted apart from load failures). */
  onCanaryRefused?(version: string, reason: string): void;
}

/**
 * Holds the model being served and replaces it safely.
 *
 * Swap is one reference assignment: a request reads `current` once and predicts
 * synchronously, so requests in flight finish on the model they started with and no request
 * ever sees a half-loaded model. A version that fails to load is refused and remembered, so
 * the old model keeps serving and the bad version is not retried on every poll (a new
 * version, or the alias moving back and forth, is tried again).
 *
 * Emits `swap` (next, previous) and `refused` (version, error) after each outcome, so
 * callers (and tests) can wait for a reload without polling.
 */
export class ModelHolder extends EventEmitter<{ swap: [LoadedModel, LoadedModel | null]; refused: [string, unknown] }> {
  private currentModel: LoadedModel | null = null;
  private knownBad: { version: string; error: string } | null = null;
  private timer: NodeJS.Timeout | null = null;
  private checking: Promise<ReloadOutcome> | null = null;
  private lastNote: string | undefined;

  constructor(
    readonly source: ModelSource,
    private readonly log: Pick<FastifyBaseLogger, "info" | "warn" | "error">,
    private readonly events: ModelHolderEvents = {},
  ) {
    super();
  }

  get current(): LoadedModel | null {
    return this.currentModel;
  }

  get ready(): boolean {
    return this.currentModel !== null;
  }

  /** Loads the first model; throws (with the source named) when it cannot. */
  async loadInitial(): Promise<LoadedModel> {
    const outcome = await this.check();
    if (this.currentModel) return this.currentModel;
    const why = outcome.kind === "refused" || outcome.kind === "resolve-failed" ? outcome.error : outcome.kind;
    throw new UnavailableError(`cannot load a model from ${this.source.describe()}: ${why}`);
  }

  /**
   * Resolves the source once and swaps in the resolved version if it differs from the one
   * served. Concurrent calls share one check.
   */
  check(): Promise<ReloadOutcome> {
    if (!this.checking) {
      this.checking = this.checkOnce().finally(() => {
        this.checking = null;
      });
    }
    return this.checking;
  }

  /** Polls every `intervalMs` (0 disables). The timer does not keep the process alive. */
  startPolling(intervalMs: number): void {
    this.stopPolling();
    if (intervalMs <= 0) return;
    this.timer = setInterval(() => {
      void this.check();
    }, intervalMs);
    this.timer.unref();
  }

  stopPolling(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private async checkOnce(): Promise<ReloadOutcome> {
    let resolved: ResolvedModelFile;
    try {
      resolved = await this.source.resolve();
    } catch (err) {
      const error = errorMessage(err);
      // A registry that is briefly unreachable must not take the served model down. Before the
      // first model there is nothing to keep: loadInitial reports the one error.
      if (this.currentModel)
        this.log.warn({ source: this.source.describe(), err: error }, `model source could not be resolved; keeping version ${this.currentModel.version}`);
      return { kind: "resolve-failed", error };
    }
    if (resolved.note !== undefined && resolved.note !== this.lastNote) {
      // Which version the source chose, and why (e.g. a fallback from @production to @staging).
      this.lastNote = resolved.note;
      this.log.info({ source: this.source.describe(), version: resolved.version, alias: resolved.alias }, resolved.note);
    }
    const previous = this.currentModel;
    if (previous && previous.version === resolved.version && previous.name === resolved.name) {
      if (previous.alias !== resolved.alias) {
        const { alias: _old, ...rest } = previous;
        const relabelled: LoadedModel = resolved.alias !== undefined ? { ...rest, alias: resolved.alias } : rest;
        this.currentModel = relabelled;
        this.events.onRelabel?.(relabelled, previous);
      }
      return { kind: "unchanged", version: resolved.version };
    }
    if (this.knownBad?.version === `${resolved.name}/${resolved.version}`) {
      return { kind: "skipped-known-bad", version: resolved.version };
    }
    try {
      const model = await resolved.load({ whileServing: previous !== null });
      const refusal = canaryRefusal(model, previous?.model ?? null);
      if (refusal !== null) {
        this.events.onCanaryRefused?.(resolved.version, refusal);
        throw new DataError(`canary check failed: ${refusal}`);
      }
      const next: LoadedModel = {
        model,
        name: resolved.name,
        version: resolved.version,
        ...(resolved.alias !== undefined ? { alias: resolved.alias } : {}),
        source: `${this.source.describe()} (version ${resolved.version}${resolved.alias ? `, alias ${resolved.alias}` : ""})`,
        loadedAt: new Date(),
      };
      this.currentModel = next;
      this.knownBad = null;
      this.log.info(
        { model: next.name, version: next.version, alias: next.alias, previous: previous?.version },
        previous ? `model swapped: ${next.name} version ${previous.version} -> ${next.version}` : `model loaded: ${next.name} version ${next.version}`,
      );
      this.events.onSwap?.(next, previous);
      this.emit("swap", next, previous);
      return previous ? { kind: "swapped", from: previous.version, to: next.version } : { kind: "swapped", to: next.version };
    } catch (err) {
      const error = errorMessage(err);
      this.knownBad = { version: `${resolved.name}/${resolved.version}`, error };
      this.log.error(
        { model: resolved.name, version: resolved.version, err: error, serving: previous?.version ?? null },
        `model version ${resolved.version} failed to load and was refused${previous ? `; still serving version ${previous.version}` : ""}`,
      );
      this.events.onLoadFailure?.(resolved.version, err);
      this.emit("refused", resolved.version, err);
      return { kind: "refused", version: resolved.version, error };
    }
  }
}
