import { PayloadTooLargeError, PolarityError, UnavailableError } from "../util/errors.js";
import type { ServeConfig } from "./config.js";

/**
 * Bounds on the work one request may ask for (issue 9 item 10), checked before any text is
 * scored. Every protocol (JSON, MLflow, V2) goes through checkTexts.
 */
export type WorkLimits = Pick<ServeConfig, "maxTextLength" | "maxBatchSize" | "maxBatchChars" | "maxExplainTexts">;

const NON_SPACE = /\S/;

/**
 * Refuses an empty batch, too many texts, a text over the length limit, too many characters
 * in all, and empty or whitespace-only texts (400 naming the index: a blank text carries no
 * sentiment, and scoring it would answer with the model's prior as if it meant something).
 */
export function checkTexts(texts: readonly string[], limits: WorkLimits): number {
  if (texts.length === 0) throw new PolarityError("BAD_REQUEST", "no texts to score");
  if (texts.length > limits.maxBatchSize) {
    throw new PayloadTooLargeError(`batch of ${texts.length} texts exceeds the limit of ${limits.maxBatchSize} (--max-batch-size / MAX_BATCH_SIZE)`);
  }
  let total = 0;
  for (let i = 0; i < texts.length; i++) {
    const t = texts[i];
    if (t.length > limits.maxTextLength) {
      throw new PayloadTooLargeError(
        `text ${i} has ${t.length} characters, more than the limit of ${limits.maxTextLength} (--max-text-length / MAX_TEXT_LENGTH)`,
      );
    }
    if (!NON_SPACE.test(t))
      throw new PolarityError("BAD_REQUEST", texts.length === 1 ? "the text is empty or only whitespace" : `text ${i} is empty or only whitespace`);
    total += t.length;
  }
  if (total > limits.maxBatchChars) {
    throw new PayloadTooLargeError(
      `the texts have ${total} characters in all, more than the limit of ${limits.maxBatchChars} per request (--max-batch-chars / MAX_BATCH_CHARS)`,
    );
  }
  return total;
}

/**
 * Explanations cost far more than predictions (a per-word breakdown and top terms per text,
 * ~300 bytes of JSON per word): at most maxExplainTexts texts and a tenth of the batch
 * character budget per request.
 */
export function checkExplain(count: number, totalChars: number, limits: WorkLimits): void {
  if (count > limits.maxExplainTexts) {
    throw new PayloadTooLargeError(
      `explain is limited to ${limits.maxExplainTexts} texts per request, got ${count} (--max-explain-texts / MAX_EXPLAIN_TEXTS); send more requests or drop explain`,
    );
  }
  const maxChars = Math.max(limits.maxTextLength, Math.floor(limits.maxBatchChars / 10));
  if (totalChars > maxChars) {
    throw new PayloadTooLargeError(`explain is limited to ${maxChars} characters per request (a tenth of --max-batch-chars), got ${totalChars}`);
  }
}

/**
 * Characters being scored asynchronously (batches handed to the prediction pool) at once.
 * Over the budget a request is shed with 503 + Retry-After instead of queueing without
 * bound; a request alone is always admitted, so a budget below one request cannot starve.
 */
export class WorkBudget {
  private inflight = 0;
  constructor(
    private readonly maxChars: number,
    private readonly onShed: () => void = () => {},
  ) {}

  get inflightChars(): number {
    return this.inflight;
  }

  async run<T>(chars: number, work: () => Promise<T>): Promise<T> {
    if (this.inflight > 0 && this.inflight + chars > this.maxChars) {
      this.onShed();
      throw new UnavailableError(
        `the server is busy (${this.inflight} characters being scored, budget ${this.maxChars}: --max-inflight-chars); retry shortly`,
        { retryAfterSeconds: 1 },
      );
    }
    this.inflight += chars;
    try {
      return await work();
    } finally {
      this.inflight -= chars;
    }
  }
}
