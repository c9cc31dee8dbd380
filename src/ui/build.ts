/** `npm run build` step: writes the UI bundle to dist/ui/assets/ and prints its gzipped size. */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { BUILT_ASSETS_DIR, bundleUi } from "./assets.js";

const { js, css } = await bundleUi();
await mkdir(BUILT_ASSETS_DIR, { recursive: true });
await writeFile(join(BUILT_ASSETS_DIR, "app.js"), js);
await writeFile(join(BUILT_ASSETS_DIR, "app.css"), css);
const kb = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
process.stdout.write(`UI bundle: app.js ${kb(js.length)} (gzip ${kb(gzipSync(js, { level: 9 }).length)}), app.css ${kb(css.length)} (gzip ${kb(gzipSync(css, { level: 9 }).length)}) → ${BUILT_ASSETS_DIR}\n`);
