import type { Command } from "commander";
import { action } from "./run-command.js";
import { exitWhenWritten } from "./stdout.js";
import { buildDag, renderDot, renderMermaid, renderText, selectStages } from "../pipeline/dag.js";
import { loadPipeline } from "../pipeline/dvcyaml.js";
import { findRoot } from "../pipeline/repo.js";

export function register(program: Command): void {
  program
    .command("dag")
    .description("Show the pipeline's stage graph (text, Mermaid or Graphviz dot)")
    .argument("[target]", "show only this stage and its upstream")
    .option("--mermaid", "print a Mermaid flowchart")
    .option("--dot", "print Graphviz dot")
    .option("--json", "print {stages, edges} as JSON")
    .action(
      action(async (target: string | undefined, o: { mermaid?: boolean; dot?: boolean; json?: boolean }) => {
        const full = buildDag(loadPipeline(findRoot()));
        const keep = selectStages(full, target ? [target] : [], {});
        const dag = {
          stages: full.stages.filter((s) => keep.has(s.name)),
          upstream: new Map([...full.upstream].filter(([k]) => keep.has(k))),
          downstream: new Map([...full.downstream].filter(([k]) => keep.has(k)).map(([k, v]) => [k, new Set([...v].filter((d) => keep.has(d)))])),
        };
        if (o.json) {
          const edges = dag.stages.flatMap((s) => [...dag.downstream.get(s.name)!].map((d) => ({ from: s.name, to: d })));
          exitWhenWritten(JSON.stringify({ stages: dag.stages.map((s) => s.name), edges }, null, 2) + "\n");
        } else if (o.mermaid) exitWhenWritten(renderMermaid(dag));
        else if (o.dot) exitWhenWritten(renderDot(dag));
        else exitWhenWritten(renderText(dag));
      }),
    );
}
