import { Worker, type WorkerOptions } from "node:worker_threads";

/**
 * Starts a worker thread whose entry is the module `name` next to the caller (`callerUrl` is
 * the caller's `import.meta.url`): from dist/ the compiled `name.js`; under tsx (tests,
 * benchmarks) an eval'd bootstrap that registers tsx's loader in the worker and then imports
 * `name.ts` — on Node 20 a worker does not inherit the main thread's `--import tsx`, and a .ts
 * entry fails with "Unknown file extension". Callers never block while a worker starts, so a
 * worker whose loader needs the main thread cannot deadlock.
 */
export function startModuleWorker(callerUrl: string, name: string, options: WorkerOptions = {}): Worker {
  if (!callerUrl.endsWith(".ts")) return new Worker(new URL(`./${name}.js`, callerUrl), options);
  const entry = new URL(`./${name}.ts`, callerUrl).href;
  const tsxApi = import.meta.resolve("tsx/esm/api");
  const bootstrap = `import(${JSON.stringify(tsxApi)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(bootstrap, { ...options, eval: true });
}
