/**
 * The JSON the UI-only endpoints answer (`/ui-api/pipeline*`), shared by the server side
 * (pipeline-view.ts) and the browser code (web/pages/pipeline.ts). Types only, no imports, so
 * both programs can include it.
 */

/** One stage of the DAG as the pipeline page draws it. */
export interface PipelineStageView {
  name: string;
  cmd: string;
  deps: string[];
  outs: string[];
  frozen: boolean;
  changed: boolean;
  reasons: string[];
}

export type PipelineView =
  | { available: true; root: string; stages: PipelineStageView[]; edges: Array<{ from: string; to: string }>; statusError?: string }
  | { available: false; message: string };

/** One row of `metrics diff` (src/pipeline's DiffRow). */
export interface MetricsDiffRow {
  path: string;
  key: string;
  old: unknown;
  new: unknown;
  diff?: number;
}

export interface MetricsDiffView {
  rev: string;
  rows: MetricsDiffRow[];
}
