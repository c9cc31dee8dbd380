import { errorMessage } from "../util/errors.js";
import { WORKER_FAILED, WORKER_READY } from "./cluster.js";
import { registerWorkerMetrics } from "./metrics.js";
import { startServing } from "./server.js";

/** Entry point of a cluster worker (forked by startCluster with its configuration in the environment). */
async function runWorker(): Promise<void> {
  const raw = process.env.POLARITY_SERVE_CONFIG;
  if (!raw || !process.send) throw new Error("worker-entry runs only as a cluster worker started by `polarity serve --workers N`");
  const server = await startServing(JSON.parse(raw));
  registerWorkerMetrics(server.app.polarity.metrics);
  process.send({ type: WORKER_READY, url: server.url, port: server.port });
}

runWorker().catch((err: unknown) => {
  const message = errorMessage(err);
  // The primary prints the one error line for the whole server.
  if (process.send) process.send({ type: WORKER_FAILED, error: message }, () => process.exit(1));
  else {
    console.error(`error: ${message}`);
    process.exit(1);
  }
});
