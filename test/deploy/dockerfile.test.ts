import assert from "node:assert/strict";
import { existsSync, statSync, writeFileSync } from "node:fs";
import { join, posix, relative } from "node:path";
import { describe, test } from "node:test";
import { DockerfileParser, type Instruction } from "dockerfile-ast";
import { DEFAULT_PORT, resolveServeConfig } from "../../src/serving/config.js";
import { listFiles, loadBaseFiles, readText, REPO } from "./support.js";
import { startLocal, tempDir, trainModelJson } from "../serving/fixtures.js";
import type { RunningServer } from "../../src/serving/server.js";

/* eslint-disable @typescript-eslint/no-explicit-any -- manifests are untyped YAML */

type Stage = { name: string | undefined; from: string; instructions: Instruction[] };

/** The Dockerfile's stages with ARG defaults declared before the first FROM substituted into FROM. */
function readDockerfile(text = readText("Dockerfile")): { stages: Stage[]; globalArgs: Map<string, string> } {
  const dockerfile = DockerfileParser.parse(text);
  const globalArgs = new Map<string, string>();
  const stages: Stage[] = [];
  for (const instruction of dockerfile.getInstructions()) {
    const keyword = instruction.getKeyword();
    if (keyword === "FROM") {
      const args = instruction.getArguments().map((a) => a.getValue());
      const from = args[0].replace(/\$\{?(\w+)\}?/g, (_, name: string) => globalArgs.get(name) ?? "");
      stages.push({ name: args[1]?.toUpperCase() === "AS" ? args[2] : undefined, from, instructions: [] });
    } else if (stages.length === 0 && keyword === "ARG") {
      const [name, ...value] = instruction.getArgumentsContent()!.split("=");
      globalArgs.set(name.trim(), value.join("=").trim());
    } else if (stages.length > 0) {
      stages[stages.length - 1].instructions.push(instruction);
    }
  }
  return { stages, globalArgs };
}

const PINNED = /(@sha256:[0-9a-f]{64}$)|(:\d+\.\d+\.\d+[\w.-]*$)/;
const args = (i: Instruction) => i.getArguments().map((a) => a.getValue());
const last = <T>(xs: T[]) => xs[xs.length - 1];

/** A JSON-form instruction (ENTRYPOINT/CMD) as its argv. */
function jsonArgv(i: Instruction | undefined): string[] {
  assert.ok(i, "instruction missing");
  const parsed = JSON.parse(i.getArgumentsContent()!) as unknown;
  assert.ok(Array.isArray(parsed), `${i.getKeyword()} uses the JSON (exec) form`);
  return parsed as string[];
}

function workdirAt(stage: Stage, index: number): string {
  let dir = "/";
  for (const i of stage.instructions.slice(0, index)) if (i.getKeyword() === "WORKDIR") dir = posix.resolve(dir, args(i)[0]);
  return dir;
}

/**
 * Where a path of the final image comes from: follows COPY instructions (and `--from=` stages)
 * back to a path in the build context, or to a path produced by a RUN in some stage.
 */
function originOf(stages: Stage[], stageIndex: number, path: string): { stage: number; path: string; copiedFromContext: boolean } {
  const stage = stages[stageIndex];
  for (let k = stage.instructions.length - 1; k >= 0; k--) {
    const i = stage.instructions[k];
    if (i.getKeyword() !== "COPY") continue;
    const parts = args(i);
    const dest = posix.resolve(workdirAt(stage, k), last(parts));
    const sources = parts.slice(0, -1);
    for (const src of sources) {
      const target = sources.length > 1 || dest.endsWith("/") ? posix.join(dest, posix.basename(src)) : dest;
      if (path === target || path.startsWith(target + "/")) {
        const rest = path.slice(target.length);
        const fromFlag = (i as unknown as { getFromFlag(): { getValue(): string } | null }).getFromFlag();
        if (!fromFlag) return { stage: stageIndex, path: posix.join(src, rest), copiedFromContext: true };
        const from = stages.findIndex((s) => s.name === fromFlag.getValue());
        assert.ok(from >= 0, `COPY --from=${fromFlag.getValue()}: no such stage`);
        return originOf(stages, from, posix.resolve(src) + rest);
      }
    }
  }
  return { stage: stageIndex, path, copiedFromContext: false };
}

/** `.dockerignore` as Docker applies it: the last matching pattern wins, `!` re-includes. */
function dockerIgnored(path: string, rules = readText(".dockerignore")): boolean {
  const toRegExp = (pattern: string) =>
    new RegExp(
      "^" +
        pattern
          .replace(/[.+^${}()|[\]\\]/g, "\\$&")
          .replace(/\*\*\/?/g, "\uE000")
          .replace(/\*/g, "[^/]*")
          .replace(/\?/g, "[^/]")
          .replace(/\uE000/g, ".*") +
        "(/.*)?$",
    );
  let ignored = false;
  for (const line of rules.split("\n").map((l) => l.trim())) {
    if (!line || line.startsWith("#")) continue;
    const negate = line.startsWith("!");
    if (toRegExp(negate ? line.slice(1) : line).test(path)) ignored = !negate;
  }
  return ignored;
}

describe("Dockerfile", () => {
  const { stages, globalArgs } = readDockerfile();
  const runtime = last(stages);
  const final = (keyword: string) => runtime.instructions.filter((i) => i.getKeyword() === keyword);

  test("multi-stage: a build stage, then a slim Node 20 runtime, both bases pinned and replaceable by build args", () => {
    assert.ok(stages.length >= 2, "at least two stages");
    for (const stage of stages) {
      assert.match(stage.from, PINNED, `FROM ${stage.from} is pinned to an exact version or digest`);
      assert.match(stage.from, /node:20\./, "Node 20");
    }
    assert.match(runtime.from, /slim/, "the runtime is the slim image");
    for (const name of ["BASE", "BUILD_BASE"]) assert.ok(globalArgs.has(name), `build arg ${name} selects a base image`);
    assert.ok(
      runtime.instructions.some((i) => i.getKeyword() === "COPY" && /--from=/.test(i.getTextContent())),
      "the runtime copies the build's output instead of building itself",
    );
    const build = stages[0].instructions.map((i) => i.getTextContent()).join("\n");
    assert.match(build, /npm ci\b/, "the build installs from the lockfile");
    assert.match(build, /npm prune --omit=dev/, "only production dependencies reach the runtime");
  });

  test("the runtime runs as a non-root numeric user, the one the manifests require", () => {
    const user = last(final("USER"));
    assert.ok(user, "USER is set in the final stage");
    const uid = args(user)[0].split(":")[0];
    assert.match(uid, /^\d+$/, "numeric, so runAsNonRoot can be verified");
    assert.notEqual(Number(uid), 0);
    for (const { object } of loadBaseFiles().filter((f) => f.object.spec?.template)) {
      assert.equal((object.spec as any).template.spec.securityContext.runAsUser, Number(uid), `${object.metadata.name} runs as the image's user`);
    }
  });

  test("EXPOSE and ENV PORT are the server's port and the manifests' containerPort", () => {
    const exposed = final("EXPOSE")
      .flatMap(args)
      .map((p) => Number(p.split("/")[0]));
    const env = Object.fromEntries(final("ENV").flatMap((i) => args(i).map((kv) => kv.split("=") as [string, string])));
    const port = resolveServeConfig({}, env).port;
    assert.equal(port, DEFAULT_PORT);
    assert.deepEqual(exposed, [port]);
    assert.equal(env.HOST, "0.0.0.0", "listens on all interfaces in a container");
    const deployment = loadBaseFiles().find((f) => f.object.metadata.name === "polarity-model-server" && f.object.kind === "Deployment")!.object;
    assert.equal((deployment.spec as any).template.spec.containers[0].ports[0].containerPort, port);
  });

  test("HEALTHCHECK asks a route that answers 200 on a real server with a model", { timeout: 60_000 }, async () => {
    const hc = last(final("HEALTHCHECK"));
    assert.ok(hc, "HEALTHCHECK in the final stage");
    const path = /'(\/[\w/-]+)'\)/.exec(hc.getTextContent())?.[1];
    assert.ok(path, "the health check fetches a path on 127.0.0.1");
    const dir = tempDir("polarity-dockerfile-");
    let server: RunningServer | undefined;
    try {
      writeFileSync(join(dir.path, "model.json"), JSON.stringify(trainModelJson()));
      server = await startLocal(join(dir.path, "model.json"));
      const res = await fetch(new URL(path, server.url));
      await res.arrayBuffer();
      assert.equal(res.status, 200, `${path} answers 200`);
    } finally {
      await server?.close();
      dir.cleanup();
    }
  });

  test("ENTRYPOINT runs a file that exists after the build (dist/cli/main.cjs, the package's bin)", () => {
    const argv = [...jsonArgv(last(final("ENTRYPOINT"))), ...jsonArgv(last(final("CMD")))];
    assert.equal(argv[0], "node");
    const entry = argv[1];
    assert.ok(entry.startsWith("/"), "an absolute path");
    const origin = originOf(stages, stages.length - 1, entry);
    assert.equal(origin.copiedFromContext, false, "the entry point is a build output, not a copied source file");
    const buildDir = workdirAt(stages[origin.stage], stages[origin.stage].instructions.length);
    const relative = posix.relative(buildDir, origin.path);
    const pkg = JSON.parse(readText("package.json")) as { bin: Record<string, string>; scripts: Record<string, string> };
    assert.equal(relative, pkg.bin.polarity, "the file the entry point runs is the package's `polarity` bin");
    const buildRuns = stages[origin.stage].instructions.filter((i) => i.getKeyword() === "RUN").map((i) => i.getTextContent());
    assert.ok(
      buildRuns.some((r) => /npm run build/.test(r)),
      "the build stage runs npm run build",
    );
    // The bin is the launcher that npm run build's last step (src/cli/bundle.ts) writes into
    // dist/cli from src/cli/launch.ts; after an install (npm ci builds) the file is there.
    assert.equal(posix.dirname(relative), "dist/cli", "the bin is written into dist/cli");
    assert.ok(
      readText("src/cli/bundle.ts").includes(`outfile: join(out, ${JSON.stringify(posix.basename(relative))})`),
      `src/cli/bundle.ts writes ${relative}`,
    );
    assert.ok(existsSync(join(REPO, "src/cli/launch.ts")), "the launcher's source exists");
    if (existsSync(join(REPO, "dist/cli"))) assert.ok(existsSync(join(REPO, relative)), `${relative} exists after npm run build`);
    assert.equal(argv[2], "serve", "the default command is the model server");
  });

  test("every file the build copies from the context exists and is not excluded by .dockerignore", () => {
    for (const stage of stages) {
      for (const i of stage.instructions) {
        if (i.getKeyword() !== "COPY" || /--from=/.test(i.getTextContent())) continue;
        for (const src of args(i).slice(0, -1)) {
          const full = join(REPO, src);
          assert.ok(existsSync(full), `COPY ${src}: missing`);
          const files = statSync(full).isDirectory() ? listFiles(full, "").map((f) => relative(REPO, f)) : [src];
          for (const file of files) assert.equal(dockerIgnored(file), false, `COPY ${src}: ${file} is excluded by .dockerignore`);
        }
      }
    }
    for (const path of ["node_modules/x", "dist/cli/main.cjs", "mlruns.db", ".git/config", "data/raw/train.csv"]) {
      assert.equal(dockerIgnored(path), true, `${path} stays out of the build context`);
    }
  });

  test("the checks catch a root user and a floating base tag", () => {
    const broken = readDockerfile(
      readText("Dockerfile")
        .replace(/USER \d+:\d+/, "USER root")
        .replace(/node:20\.\d+\.\d+-bookworm-slim/, "node:latest"),
    );
    assert.doesNotMatch(last(broken.stages).from, PINNED);
    const user = last(last(broken.stages).instructions.filter((i) => i.getKeyword() === "USER"));
    assert.doesNotMatch(args(user)[0], /^\d+/);
  });
});
