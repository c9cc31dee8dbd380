import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

let gc: (() => void) | null | undefined;

/**
 * A full garbage collection now, for the rare places that must return large buffers at once
 * (a handed-over matrix after its copy: src/features/csr.ts). Node exposes V8's gc() only
 * behind --expose-gc; the flag can be set at run time, and it then applies to contexts created
 * afterwards (a throwaway vm context here), so the function is taken from one and the flag is
 * cleared again. Nothing happens where that is not possible.
 */
export function collectGarbage(): void {
  if (gc === undefined) {
    const exposed = (globalThis as { gc?: unknown }).gc;
    gc = typeof exposed === "function" ? (exposed as () => void) : null;
    if (gc === null) {
      try {
        setFlagsFromString("--expose-gc");
        const fn: unknown = runInNewContext("gc");
        gc = typeof fn === "function" ? (fn as () => void) : null;
      } catch {
        gc = null;
      } finally {
        setFlagsFromString("--no-expose-gc");
      }
    }
  }
  gc?.();
}
