/** `npm run build` step: writes the UI bundle to dist/ui/assets/ and prints its gzipped size. */
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { BUILT_ASSETS_DIR, bundleUi } from "./assets.js";

const files = await bundleUi();
await rm(BUILT_ASSETS_DIR, { recursive: true, force: true });
await mkdir(BUILT_ASSETS_DIR, { recursive: true });
for (const [name, body] of files) await writeFile(join(BUILT_ASSETS_DIR, name), body);
const kb = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
const size = (names: string[]) => {
  const bodies = names.map((n) => files.get(n)!);
  return `${kb(bodies.reduce((a, b) => a + b.length, 0))} (gzip ${kb(bodies.reduce((a, b) => a + gzipSync(b, { level: 9 }).length, 0))})`;
};
const all = [...files.keys()];
process.stdout.write(`UI bundle → ${BUILT_ASSETS_DIR}: all ${all.length} files ${size(all)}; first load app.js + app.css ${size(["app.js", "app.css"])}\n`);
