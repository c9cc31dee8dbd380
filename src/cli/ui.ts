import type { Command } from "commander";
import { action } from "./run-command.js";
import { requireInteger } from "../util/validate.js";
import { InvalidParameterError } from "../util/errors.js";
import { parseTrackingUri, redactUri, resolveTrackingUri } from "../tracking/uri.js";

export function register(program: Command): void {
  program
    .command("ui")
    .description("Open the tracking UI on the embedded store (./mlruns.db) on a free port and print its URL")
    .option("--tracking-uri <uri>", "local store: sqlite:///path.db or a directory (default: MLFLOW_TRACKING_URI, else ./mlruns.db)")
    .option("--host <host>", "address to bind", "127.0.0.1")
    .option("--port <port>", "port (0 picks a free one)", "0")
    .action(
      action(async (o: { trackingUri?: string; host: string; port: string }) => {
        const port = requireInteger("--port", Number(o.port), 0, 65535);
        const uri = resolveTrackingUri(o.trackingUri);
        const target = parseTrackingUri(uri);
        if (target.kind === "http")
          throw new InvalidParameterError(`'${target.baseUrl}' is a tracking server: its UI is at that URL already; polarity ui opens a local store`);
        const [{ startTrackingServer }, { trackingUi }] = await Promise.all([import("../tracking/server.js"), import("../ui/plugin.js")]);
        const server = await startTrackingServer({
          host: o.host,
          port,
          backendStoreUri: target.kind === "local" ? `sqlite:///${target.dbPath}` : uri,
          artifactsDestination: target.artifactsDir,
          plugins: [trackingUi],
        });
        process.stdout.write(`Polarity UI: ${server.url}/  (store ${target.kind === "local" ? target.dbPath : redactUri(uri)}; Ctrl-C to stop)\n`);
        const stop = () => {
          void server.close().then(() => process.exit(0));
        };
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
      }),
    );
}
