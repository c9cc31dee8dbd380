// Downloads one registered model version's model file from a tracking server into a directory:
//   MLFLOW_TRACKING_URI=https://tracking.example.com node fetch-model.mjs models:/sentiment@production /model
// Writes <dir>/model.json and <dir>/model-info.json ({name, version, source}). Run from the
// build stage of the Dockerfile (it imports the compiled client from dist/).
import { copyFile, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TrackingClient } from "../../dist/tracking/client.js";
import { findModelFile } from "../../dist/serving/model-source.js";

const [uri, outDir] = process.argv.slice(2);
if (!uri || !outDir || !uri.startsWith("models:/")) {
  console.error("usage: fetch-model.mjs models:/<name>@<alias>|models:/<name>/<version> <output dir>");
  process.exit(2);
}
const client = TrackingClient.open();
const tmp = await mkdtemp(join(tmpdir(), "polarity-fetch-"));
try {
  const { modelVersion } = await client.resolveModelUri(uri);
  const local = await client.downloadArtifacts(`models:/${modelVersion.name}/${modelVersion.version}`, tmp);
  await copyFile(await findModelFile(local), join(outDir, "model.json"));
  const info = { name: modelVersion.name, version: modelVersion.version, source: uri };
  await writeFile(join(outDir, "model-info.json"), JSON.stringify(info) + "\n");
  console.log(`baked ${uri} → ${modelVersion.name} version ${modelVersion.version}`);
} catch (err) {
  console.error(`fetch-model: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
} finally {
  await client.close();
  await rm(tmp, { recursive: true, force: true });
}
