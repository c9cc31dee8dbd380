import type { Command } from "commander";
import { action } from "./run-command.js";
import { requireInteger } from "../util/validate.js";

export function register(program: Command): void {
  program
    .command("server")
    .description("Run the MLflow-compatible tracking and model-registry server")
    .option("--host <host>", "address to bind", "127.0.0.1")
    .option("--port <port>", "port (0 picks a free one)", "5000")
    .option(
      "--backend-store-uri <uri>",
      "store: sqlite:///relative.db, sqlite:////absolute.db, a directory, or postgresql://user:password@host:port/db",
      "sqlite:///mlruns.db",
    )
    .option(
      "--artifacts-destination <dir>",
      "where mlflow-artifacts:/ URIs live: a directory, or s3://bucket/prefix (AWS_* and MLFLOW_S3_ENDPOINT_URL from the environment)",
      "./mlartifacts",
    )
    .option("--auth <user:password>", "require HTTP Basic credentials (or POLARITY_SERVER_USERNAME/POLARITY_SERVER_PASSWORD)")
    .option("--auth-token <token>", "require Authorization: Bearer <token> (or POLARITY_SERVER_TOKEN)")
    .option("--max-artifact-bytes <n>", "largest artifact one upload may write", String(5 * 1024 ** 3))
    .action(
      action(
        async (o: {
          host: string;
          port: string;
          backendStoreUri: string;
          artifactsDestination: string;
          auth?: string;
          authToken?: string;
          maxArtifactBytes: string;
        }) => {
          const port = requireInteger("--port", Number(o.port), 0, 65535);
          const maxArtifactBytes = requireInteger("--max-artifact-bytes", Number(o.maxArtifactBytes), 1, Number.MAX_SAFE_INTEGER);
          // Loaded on use: fastify is the heaviest import, and every other command would pay for it.
          const [{ resolveServerAuth, startTrackingServer }, { trackingUi }] = await Promise.all([import("../tracking/server.js"), import("../ui/plugin.js")]);
          const auth = resolveServerAuth({ auth: o.auth, authToken: o.authToken });
          const server = await startTrackingServer({
            host: o.host,
            port,
            backendStoreUri: o.backendStoreUri,
            artifactsDestination: o.artifactsDestination,
            auth,
            maxArtifactBytes,
            plugins: [trackingUi],
          });
          process.stdout.write(`Polarity tracking server listening on ${server.url}${auth ? " (authentication required)" : ""}\n`);
          const stop = () => {
            void server.close().then(() => process.exit(0));
          };
          process.once("SIGINT", stop);
          process.once("SIGTERM", stop);
        },
      ),
    );
}
