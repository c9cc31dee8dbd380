import type { Command } from "commander";
import { action } from "./run-command.js";
import { InvalidParameterError } from "../util/errors.js";
import { requireInteger } from "../util/validate.js";
import { parsePoolSize, parseTrackingUri, withPoolSize } from "../tracking/uri.js";

const DEFAULT_BACKEND_STORE_URI = "sqlite:///mlruns.db";
const DEFAULT_ARTIFACTS_DESTINATION = "./mlartifacts";

/**
 * Environment variables `polarity server` reads when the flag is not given, Polarity's name first,
 * then MLflow's (`mlflow server` reads the same two, and MLflow's SQLAlchemy store the pool size).
 * With them a deployment keeps the database URI and its password out of the command line
 * (deploy/k8s/overlays/shared-store sets them from a Secret).
 */
export const SERVER_STORE_ENV = {
  backendStoreUri: ["POLARITY_BACKEND_STORE_URI", "MLFLOW_BACKEND_STORE_URI"],
  artifactsDestination: ["POLARITY_ARTIFACTS_DESTINATION", "MLFLOW_ARTIFACTS_DESTINATION"],
  poolSize: ["POLARITY_DB_POOL_SIZE", "MLFLOW_SQLALCHEMYSTORE_POOL_SIZE"],
} as const;

function fromEnv(names: readonly string[], env: NodeJS.ProcessEnv): { name: string; value: string } | undefined {
  for (const name of names) {
    const value = env[name];
    if (value !== undefined && value.trim() !== "") return { name, value };
  }
  return undefined;
}

/**
 * Where the server keeps its data: each setting from its flag, else its environment variables
 * (SERVER_STORE_ENV), else the default. The PostgreSQL pool size: `--db-pool-size`, else the
 * URI's `?pool_size=`, else POLARITY_DB_POOL_SIZE / MLFLOW_SQLALCHEMYSTORE_POOL_SIZE, else 10;
 * it is carried to the store as the URI's `pool_size` option.
 */
export function resolveServerStore(
  o: { backendStoreUri?: string; artifactsDestination?: string; dbPoolSize?: string },
  env: NodeJS.ProcessEnv = process.env,
): { backendStoreUri: string; artifactsDestination: string } {
  let backendStoreUri = o.backendStoreUri ?? fromEnv(SERVER_STORE_ENV.backendStoreUri, env)?.value ?? DEFAULT_BACKEND_STORE_URI;
  const artifactsDestination = o.artifactsDestination ?? fromEnv(SERVER_STORE_ENV.artifactsDestination, env)?.value ?? DEFAULT_ARTIFACTS_DESTINATION;
  const target = parseTrackingUri(backendStoreUri);
  if (o.dbPoolSize !== undefined) {
    if (target.kind !== "postgresql") throw new InvalidParameterError("--db-pool-size applies to a postgresql:// backend store only");
    backendStoreUri = withPoolSize(backendStoreUri, parsePoolSize(o.dbPoolSize, "--db-pool-size"));
  } else if (target.kind === "postgresql" && target.poolSize === undefined) {
    const fromVar = fromEnv(SERVER_STORE_ENV.poolSize, env);
    if (fromVar) backendStoreUri = withPoolSize(backendStoreUri, parsePoolSize(fromVar.value, fromVar.name));
  }
  return { backendStoreUri, artifactsDestination };
}

export function register(program: Command): void {
  program
    .command("server")
    .description("Run the MLflow-compatible tracking and model-registry server")
    .option("--host <host>", "address to bind", "127.0.0.1")
    .option("--port <port>", "port (0 picks a free one)", "5000")
    .option(
      "--backend-store-uri <uri>",
      `store: sqlite:///relative.db, sqlite:////absolute.db, a directory, or postgresql://user:password@host:port/db[?pool_size=N] (default: $${SERVER_STORE_ENV.backendStoreUri.join(" or $")}, else ${DEFAULT_BACKEND_STORE_URI})`,
    )
    .option(
      "--artifacts-destination <dir>",
      `where mlflow-artifacts:/ URIs live: a directory, or s3://bucket/prefix (AWS_* and MLFLOW_S3_ENDPOINT_URL from the environment) (default: $${SERVER_STORE_ENV.artifactsDestination.join(" or $")}, else ${DEFAULT_ARTIFACTS_DESTINATION})`,
    )
    .option(
      "--db-pool-size <n>",
      `PostgreSQL connections per server process, 1-1000 (default: the URI's pool_size, else $${SERVER_STORE_ENV.poolSize.join(" or $")}, else 10)`,
    )
    .option("--auth <user:password>", "require HTTP Basic credentials (or POLARITY_SERVER_USERNAME/POLARITY_SERVER_PASSWORD)")
    .option("--auth-token <token>", "require Authorization: Bearer <token> (or POLARITY_SERVER_TOKEN)")
    .option("--max-artifact-bytes <n>", "largest artifact one upload may write", String(5 * 1024 ** 3))
    .action(
      action(
        async (o: {
          host: string;
          port: string;
          backendStoreUri?: string;
          artifactsDestination?: string;
          dbPoolSize?: string;
          auth?: string;
          authToken?: string;
          maxArtifactBytes: string;
        }) => {
          const port = requireInteger("--port", Number(o.port), 0, 65535);
          const maxArtifactBytes = requireInteger("--max-artifact-bytes", Number(o.maxArtifactBytes), 1, Number.MAX_SAFE_INTEGER);
          const store = resolveServerStore(o);
          // Loaded on use: fastify is the heaviest import, and every other command would pay for it.
          const [{ resolveServerAuth, startTrackingServer }, { trackingUi }] = await Promise.all([import("../tracking/server.js"), import("../ui/plugin.js")]);
          const auth = resolveServerAuth({ auth: o.auth, authToken: o.authToken });
          const server = await startTrackingServer({
            host: o.host,
            port,
            backendStoreUri: store.backendStoreUri,
            artifactsDestination: store.artifactsDestination,
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
