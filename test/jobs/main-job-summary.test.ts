import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { formatSummary, type MainJobSummary } from "../../src/jobs/main-job.js";

describe("main job summary", () => {
  const base = {
    repro: { ok: true, ran: [], restored: [], failed: [], stages: [] },
    promotion: null,
    refusal: null,
    metrics: null,
    model: { name: "sentiment", versions: [] },
    productionUri: null,
  } as unknown as Omit<MainJobSummary, "tracking">;

  it("never prints a tracking store password", () => {
    const uri = "postgresql://polarity:s3cret-pw@db.internal:5432/mlflow";
    const text = formatSummary({ ...base, tracking: { uri, database: null, artifacts: null } }, "/tmp");
    assert.ok(!text.includes("s3cret-pw"), text);
    assert.match(text, /tracking store: postgresql:\/\/polarity:\*\*\*@db\.internal:5432\/mlflow/);
  });

  it("prints a local store's database and artifacts relative to the project", () => {
    const text = formatSummary({ ...base, tracking: { uri: "mlruns", database: "/p/mlruns/mlruns.db", artifacts: "/p/mlruns/mlartifacts" } }, "/p");
    assert.match(text, /tracking store: mlruns \(database mlruns\/mlruns\.db, artifacts mlruns\/mlartifacts\/\)/);
  });
});
