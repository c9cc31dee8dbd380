import { loadParams, type PipelineParams } from "./params.js";
import { createReporter, type Reporter } from "../util/progress.js";
import { resolve } from "node:path";

/** What every stage function gets: the project directory, the parsed params and a reporter. */
export interface StageContext {
  dir: string;
  params: PipelineParams;
  reporter: Reporter;
}

export async function loadStageContext(dir: string, opts: { paramsFile?: string; reporter?: Reporter } = {}): Promise<StageContext> {
  const params = await loadParams(resolve(dir, opts.paramsFile ?? "params.yaml"));
  return { dir, params, reporter: opts.reporter ?? createReporter() };
}
