/**
 * Prediction ids `<prefix><sequence base 36>-<class index>` made without `toString(36)` or a
 * three-part concatenation per prediction: the sequence's last base-36 digit and the class
 * suffix come from a per-class table of 36 strings built once, and the rest (`prefix` + the
 * sequence divided by 36) is rebuilt only every 36 predictions. The ids are exactly
 * `prefix + seq.toString(36) + "-" + cls`, so /feedback's parser and old ids are unchanged.
 */
const DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz";

/** The 36 id tails of class `cls`: `<last digit>-<cls>`. */
export function idTails(cls: number): string[] {
  const tails = new Array<string>(36);
  for (let d = 0; d < 36; d++) tails[d] = `${DIGITS[d]}-${cls}`;
  return tails;
}

export class PredictionIds {
  private seq = 0;
  /** prefix + floor(seq / 36) in base 36 ("" while seq < 36). */
  private high: string;

  constructor(private readonly prefix: string) {
    this.high = prefix;
  }

  /** The sequence number the next id gets. */
  get next(): number {
    return this.seq;
  }

  /** The next id; `tails` is idTails(cls) (undefined falls back to the plain form). */
  take(cls: number, tails: readonly string[] | undefined): string {
    const seq = this.seq++;
    const d = seq % 36;
    if (d === 0 && seq !== 0) this.high = this.prefix + (seq / 36).toString(36);
    return tails !== undefined ? this.high + tails[d] : `${this.prefix}${seq.toString(36)}-${cls}`;
  }
}
