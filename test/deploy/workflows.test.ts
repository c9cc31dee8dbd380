import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import { validateWorkflow } from "@action-validator/core";
import { parse } from "yaml";
import {
  checkCliInvocation,
  findKustomize,
  loadBaseFiles,
  loadCliCommands,
  readText,
  renderOverlay,
  REPO,
  type CliCommandInfo,
  type K8sObject,
} from "./support.js";

/* eslint-disable @typescript-eslint/no-explicit-any -- workflows are untyped YAML */

type Step = { name?: string; uses?: string; run?: string; with?: Record<string, unknown>; if?: string; id?: string; "working-directory"?: string };
type Workflow = {
  on: unknown;
  concurrency?: { group: string; "cancel-in-progress"?: boolean };
  permissions?: Record<string, string>;
  env?: Record<string, string>;
  jobs: Record<string, { environment?: unknown; steps: Step[]; needs?: string | string[] }>;
};

const WORKFLOWS = ["ci.yml", "cd.yml"] as const;

function loadWorkflow(file: string): Workflow {
  return parse(readText(`.github/workflows/${file}`)) as Workflow;
}

const steps = (wf: Workflow) => Object.values(wf.jobs).flatMap((j) => j.steps);

/** Every shell command line a workflow runs (multi-line `run:` blocks split, whitespace normalised). */
function runLines(wf: Workflow): string[] {
  return steps(wf)
    .flatMap((s) => (s.run ?? "").split("\n"))
    .map((l) => l.trim().replace(/\s+/g, " "))
    .filter((l) => l && !l.startsWith("#"));
}

/** Commands of the form `npm …` / `npx polarity …` / `polarity …` in the ```sh blocks of a Markdown file. */
function markdownCommands(markdown: string): string[] {
  const blocks = [...markdown.matchAll(/```(?:sh|bash|shell)\n([\s\S]*?)```/g)].map((m) => m[1]);
  return blocks
    .flatMap((b) => b.split("\n"))
    .map((l) => l.replace(/\s+#.*$/, "").trim())
    .flatMap((l) => l.split(/\s*&&\s*/))
    .map((l) => l.replace(/\s+/g, " "))
    .filter(Boolean);
}

/** argv after `polarity` for `npx polarity …` / `polarity …` lines. */
function polarityArgv(line: string): string[] | undefined {
  const m = /^(?:[A-Z_]+=\S+ )*(?:npx )?polarity (.+)$/.exec(line);
  return m ? m[1].split(" ").filter((w) => !/^["'$]/.test(w)) : undefined;
}

describe("GitHub Actions workflows", () => {
  let cli: Map<string, CliCommandInfo>;
  before(async () => {
    cli = await loadCliCommands();
  });

  test("each workflow validates against the GitHub Actions workflow schema", () => {
    for (const file of WORKFLOWS) {
      const result = validateWorkflow(readText(`.github/workflows/${file}`));
      assert.deepEqual(result.errors, [], `${file}: ${JSON.stringify(result.errors)}`);
    }
  });

  test("the schema check rejects a broken workflow (so the check above can fail)", () => {
    const broken = readText(".github/workflows/ci.yml").replace(/runs-on: .*/g, "runs_on: ubuntu-24.04");
    assert.ok(validateWorkflow(broken).errors.length > 0);
  });

  test("every action is pinned to a version; both workflows have a concurrency group and least permissions", () => {
    for (const file of WORKFLOWS) {
      const wf = loadWorkflow(file);
      for (const s of steps(wf)) if (s.uses) assert.match(s.uses, /@(v\d+(\.\d+)*|[0-9a-f]{40})$/, `${file}: ${s.uses} is pinned`);
      assert.ok(wf.concurrency?.group, `${file}: concurrency group`);
      assert.ok(wf.permissions, `${file}: explicit permissions`);
      assert.notEqual(wf.permissions?.contents, "write", `${file}: read-only contents`);
    }
  });

  test("ci.yml runs the same commands as .ci/run and installs the same Debian packages", () => {
    const ci = runLines(loadWorkflow("ci.yml"));
    const ciRun = readText(".ci/run")
      .split("\n")
      .map((l) => l.trim().replace(/\s+/g, " "))
      .filter((l) => /^(npm|npx) /.test(l));
    assert.ok(ciRun.length >= 4, ".ci/run has its npm steps");
    for (const command of ciRun) assert.ok(ci.includes(command), `ci.yml runs '${command}' as .ci/run does`);
    const aptInCiRun = [...readText(".ci/run").matchAll(/need\+=\(([\w.+-]+)\)/g)].map((m) => m[1]);
    const aptLine = ci.find((l) => /apt-get install/.test(l)) ?? "";
    const ciRunNodes = [20, ...(/for major in ([\d ]+);/.exec(readText(".ci/run"))?.[1].trim().split(/\s+/).map(Number) ?? [])];
    const matrix = (loadWorkflow("ci.yml").jobs.test as any).strategy?.matrix?.node ?? [];
    for (const major of ciRunNodes) assert.ok(matrix.includes(major), `ci.yml tests on Node ${major} as .ci/run does`);
    for (const pkg of aptInCiRun) assert.match(aptLine, new RegExp(`(^|\\s)${pkg.replace(/[.+]/g, "\\$&")}(\\s|$)`), `ci.yml installs ${pkg} as .ci/run does`);
  });

  test("ci.yml runs the README's commands: the test suite, the pipeline and the promotion gates", () => {
    const ci = runLines(loadWorkflow("ci.yml"));
    const documented = new Set([...markdownCommands(readText("README.md")), ...markdownCommands(readText("deploy/README.md"))]);
    assert.ok(documented.has("npm test"), "the README documents npm test");
    assert.ok(ci.includes("npm test"));
    const polarityLines = ci.filter((l) => polarityArgv(l));
    assert.ok(
      polarityLines.some((l) => polarityArgv(l)![0] === "repro"),
      "ci.yml reproduces the pipeline",
    );
    assert.ok(
      polarityLines.some((l) => polarityArgv(l)![0] === "promote"),
      "ci.yml runs the promotion gates",
    );
    for (const line of polarityLines) {
      assert.ok(documented.has(line), `'${line}' is documented in README.md or deploy/README.md`);
      assert.deepEqual(checkCliInvocation(cli, polarityArgv(line)!), []);
    }
  });

  test("every polarity command in the READMEs' shell blocks exists with those flags", () => {
    for (const file of ["README.md", "deploy/README.md"]) {
      const lines = markdownCommands(readText(file)).filter((l) => polarityArgv(l));
      assert.ok(lines.length > 0, `${file} has polarity commands`);
      for (const line of lines) assert.deepEqual(checkCliInvocation(cli, polarityArgv(line)!), [], `${file}: ${line}`);
    }
  });

  test("every npm script a workflow or deploy/README.md runs is in package.json", () => {
    const scripts = (JSON.parse(readText("package.json")) as { scripts: Record<string, string> }).scripts;
    const lines = [...WORKFLOWS.flatMap((f) => runLines(loadWorkflow(f))), ...markdownCommands(readText("deploy/README.md"))];
    for (const l of lines) {
      const m = /^npm run ([\w:-]+)/.exec(l);
      if (m) assert.ok(scripts[m[1]], `npm run ${m[1]}: no such script`);
    }
  });

  describe("cd.yml", () => {
    const cd = loadWorkflow("cd.yml");
    const text = readText(".github/workflows/cd.yml");
    const all = steps(cd);

    test("authenticates to AWS with OIDC, account/region/repository from repository variables only", () => {
      assert.equal(cd.permissions?.["id-token"], "write");
      const creds = all.filter((s) => s.uses?.startsWith("aws-actions/configure-aws-credentials@"));
      assert.ok(creds.length > 0, "uses aws-actions/configure-aws-credentials");
      for (const s of creds) {
        assert.match(String(s.with?.["role-to-assume"]), /\$\{\{ vars\.AWS_ACCOUNT_ID \}\}/, "role ARN built from vars.AWS_ACCOUNT_ID");
        assert.match(String(s.with?.["aws-region"]), /\$\{\{ vars\.AWS_REGION \}\}/);
        assert.equal(s.with?.["aws-access-key-id"], undefined, "no long-lived keys");
      }
      assert.doesNotMatch(text.replace(/^\s*#.*$/gm, ""), /\b\d{12}\b/, "no hard-coded account id");
      assert.doesNotMatch(text, /\.dkr\.ecr\.[\w-]+\.amazonaws\.com/, "the registry comes from the ECR login step");
      assert.match(text, /vars\.ECR_REPOSITORY/);
      assert.ok(all.some((s) => s.uses?.startsWith("aws-actions/amazon-ecr-login@")));
    });

    test("deploys the pushed image by digest with kustomize into the prod overlay", () => {
      const push = all.find((s) => s.uses?.startsWith("docker/build-push-action@"));
      assert.ok(push && push.with?.push === true, "builds and pushes the image");
      const ref = all.find((s) => s.id === "ref");
      assert.match(ref?.run ?? "", /@\$\{\{ steps\.build\.outputs\.digest \}\}/, "the image reference is registry/repository@digest");
      const pin = all.find((s) => /kustomize edit set image/.test(s.run ?? ""));
      assert.ok(pin, "kustomize edit set image");
      const overlay = pin["working-directory"]!;
      assert.ok(existsSync(join(REPO, overlay, "kustomization.yaml")), `${overlay} is a kustomization`);
      const imageName = /set image "?(\w[\w.-]*)=/.exec(pin.run!)![1];
      const base = loadBaseFiles().flatMap((f) => (f.object.spec?.template ? f.object.spec.template.spec.containers.map((c: any) => c.image) : []));
      assert.ok(base.length > 0 && base.every((img: string) => img.split(":")[0] === imageName), `every workload's image is '${imageName}', the name CD pins`);
      assert.ok(
        runLines(cd).some((l) => l.includes(`kubectl kustomize ${overlay}`)),
        "renders that overlay",
      );
    });

    test("waits for the rollout, rolls back on failure, runs in an environment, one deploy at a time", () => {
      const deploy = Object.values(cd.jobs).find((j) => j.steps.some((s) => /rollout status/.test(s.run ?? "")));
      assert.ok(deploy, "a job waits for kubectl rollout status");
      assert.ok(deploy.environment, "the deploy job runs in a GitHub environment");
      assert.equal(cd.concurrency?.["cancel-in-progress"], false, "a running deploy is never cancelled half-way");
      const rollback = deploy.steps.find((s) => /rollout undo/.test(s.run ?? ""));
      assert.ok(rollback && /failure\(\)/.test(rollback.if ?? ""), "rollout undo runs on failure");
      const onFailureOnly = (rollback.if ?? "").match(/steps\.(\w+)\.outcome/)?.[1];
      if (onFailureOnly)
        assert.ok(
          deploy.steps.some((s) => s.id === onFailureOnly),
          `step id '${onFailureOnly}' exists`,
        );
    });

    test("every object it names (deployment/…, job/…, namespace) exists in the rendered prod overlay", () => {
      const objects: K8sObject[] = findKustomize()
        ? renderOverlay("prod")
        : loadBaseFiles().map((f) => ({ ...f.object, metadata: { namespace: "polarity", ...f.object.metadata } }));
      const namespace = cd.env?.NAMESPACE;
      assert.ok(
        objects.some((o) => o.kind === "Namespace" && o.metadata.name === namespace),
        `namespace ${namespace} is the prod overlay's`,
      );
      const refs = [...text.matchAll(/\b(deployment|job)\/([\w-]+)/g)].map((m) => [m[1], m[2]] as const);
      const named = [...text.matchAll(/kubectl delete (job|deployment) ([\w-]+)/g)].map((m) => [m[1], m[2]] as const);
      assert.ok(refs.length >= 3);
      for (const [kind, name] of [...refs, ...named]) {
        assert.ok(
          objects.some((o) => o.kind.toLowerCase() === kind && o.metadata.name === name),
          `${kind}/${name} is not in the prod overlay`,
        );
      }
    });
  });
});
