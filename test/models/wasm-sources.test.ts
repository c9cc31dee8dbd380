/**
 * The WebAssembly kernels are embedded as base64 bytes beside their `.wat` sources
 * (src/models/optim/lbfgs-simd.ts, src/models/parallel/binary-logistic-kernel.ts). This
 * assembles each `.wat` with wabt (the toolkit the bytes were made with, with the same --enable-simd / --enable-threads) and checks the
 * embedded bytes are exactly its output, so an edited source cannot ship with stale bytes.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import initWabt from "wabt";

const KERNELS = [
  { ts: "src/models/optim/lbfgs-simd.ts", wat: "src/models/optim/lbfgs-simd.wat", constant: "WASM_BASE64", features: { simd: true, threads: true } },
  {
    ts: "src/models/parallel/binary-logistic-kernel.ts",
    wat: "src/models/parallel/binary-logistic-kernel.wat",
    constant: "COLUMN_WASM_BASE64",
    features: { threads: true },
  },
  { ts: "src/models/linear-svc.ts", wat: "src/models/svc-dual.wat", constant: "SVC_DUAL_WASM_BASE64", features: {} },
  { ts: "src/models/logistic-rows.ts", wat: "src/models/logistic-rows.wat", constant: "LOGISTIC_ROWS_WASM_BASE64", features: {} },
];

describe("embedded WebAssembly matches its .wat source", { timeout: 60_000 }, () => {
  for (const k of KERNELS) {
    test(`${k.constant} in ${k.ts} is wat2wasm of ${k.wat}`, async () => {
      const wabt = await initWabt();
      const source = readFileSync(new URL(`../../${k.ts}`, import.meta.url), "utf8");
      const match = new RegExp(`const ${k.constant} =\\s*"([A-Za-z0-9+/=]+)"`).exec(source);
      assert.ok(match, `${k.ts} declares ${k.constant} as one base64 string literal`);
      const mod = wabt.parseWat(k.wat, readFileSync(new URL(`../../${k.wat}`, import.meta.url), "utf8"), k.features);
      try {
        const assembled = Buffer.from(mod.toBinary({ log: false, write_debug_names: false }).buffer);
        assert.equal(Buffer.from(match[1], "base64").toString("hex"), assembled.toString("hex"), `regenerate ${k.constant} from ${k.wat}`);
      } finally {
        mod.destroy();
      }
    });
  }
});
