import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { parse } from "yaml";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { resolveServeConfig, type ServeConfig } from "../../src/serving/config.js";
import { resolveServerStore } from "../../src/cli/server.js";
import { resolveServerAuth } from "../../src/tracking/server.js";
import { startLocal, tempDir, trainModelJson } from "../serving/fixtures.js";
import type { RunningServer } from "../../src/serving/server.js";
import {
  checkCliInvocation,
  envVarsReadBySource,
  findKustomize,
  KUSTOMIZE_SKIP,
  loadBaseFiles,
  loadCliCommands,
  OVERLAYS,
  readText,
  renderKustomization,
  renderOverlay,
  K8S_DIR,
  type CliCommandInfo,
  type K8sObject,
} from "./support.js";

/* eslint-disable @typescript-eslint/no-explicit-any -- Kubernetes objects are untyped YAML */

// ---------- schema validation (kubernetes-models: the Kubernetes OpenAPI schemas, compiled)

async function validateObject(o: K8sObject): Promise<void> {
  let mod: Record<string, new (data: unknown) => { validate(): void }>;
  try {
    mod = await import(`kubernetes-models/${o.apiVersion}`);
  } catch {
    throw new Error(`${o.kind}/${o.metadata.name}: no schema for apiVersion ${o.apiVersion}`);
  }
  const Model = mod[o.kind];
  if (!Model) throw new Error(`${o.kind}/${o.metadata.name}: ${o.apiVersion} has no kind ${o.kind}`);
  try {
    new Model(o).validate();
  } catch (err) {
    throw new Error(`${o.kind}/${o.metadata.name} does not validate against ${o.apiVersion}: ${(err as Error).message}`);
  }
}

// ---------- reading workloads

type Workload = { object: K8sObject; podSpec: any; podLabels: Record<string, string>; podAnnotations: Record<string, string> };

function workloads(objects: K8sObject[]): Workload[] {
  return objects
    .filter((o) => ["Deployment", "StatefulSet", "DaemonSet", "Job"].includes(o.kind))
    .map((o) => ({
      object: o,
      podSpec: o.spec.template.spec,
      podLabels: o.spec.template.metadata?.labels ?? {},
      podAnnotations: o.spec.template.metadata?.annotations ?? {},
    }));
}

function find(objects: K8sObject[], kind: string, name: string): K8sObject {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
  assert.ok(o, `${kind}/${name} is missing`);
  return o;
}

const matches = (selector: Record<string, string>, labels: Record<string, string>) =>
  Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v);

/** The container's environment as the kubelet would set it; Secret values become placeholders. */
function containerEnv(container: any, objects: K8sObject[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const from of container.envFrom ?? []) {
    if (from.configMapRef) Object.assign(env, find(objects, "ConfigMap", from.configMapRef.name).data ?? {});
  }
  for (const e of container.env ?? []) {
    if (e.value !== undefined) env[e.name] = String(e.value);
    else if (e.valueFrom?.configMapKeyRef) {
      const ref = e.valueFrom.configMapKeyRef;
      const value = find(objects, "ConfigMap", ref.name).data?.[ref.key];
      assert.ok(value !== undefined || ref.optional, `${e.name}: ConfigMap ${ref.name} has no key ${ref.key}`);
      if (value !== undefined) env[e.name] = value;
    } else if (e.valueFrom?.secretKeyRef) env[e.name] = `secret-${e.valueFrom.secretKeyRef.name}-${e.valueFrom.secretKeyRef.key}`;
    else env[e.name] = "";
  }
  return env;
}

/** A named or numbered port of the container, as a number. */
function resolvePort(container: any, port: number | string): number {
  if (typeof port === "number") return port;
  const named = (container.ports ?? []).find((p: any) => p.name === port);
  assert.ok(named, `container ${container.name} has no port named '${port}'`);
  return named.containerPort;
}

/** `polarity <argv>` from a container: ENTRYPOINT node /app/dist/cli/main.cjs + args, or `sh -c "… polarity x …"`. */
function polarityInvocations(container: any): string[][] {
  if (!container.command) return [container.args ?? ["serve"]];
  const script = [...container.command, ...(container.args ?? [])].join(" ");
  return script
    .split(/&&|\|\||;/)
    .map((part) => part.trim().split(/\s+/))
    .filter((words) => words[0] === "polarity")
    .map((words) => words.slice(1));
}

function cpuCores(quantity: string | number): number {
  const s = String(quantity);
  return s.endsWith("m") ? Number(s.slice(0, -1)) / 1000 : Number(s);
}

const MODEL_SERVER = "polarity-model-server";
const TRACKING = "polarity-tracking";

/** Would resolveServeConfig notice this variable? (It throws naming the variable, or the config changes.) */
function readByServeConfig(name: string, value: string): boolean {
  const base = JSON.stringify(resolveServeConfig({}, {}));
  for (const candidate of [value, "not-a-valid-value-%"]) {
    try {
      if (JSON.stringify(resolveServeConfig({}, { [name]: candidate })) !== base) return true;
    } catch (err) {
      if ((err as Error).message.includes(name)) return true;
    }
  }
  return false;
}

/** Would the tracking server's authentication notice this variable? */
function readByServerAuth(name: string, value: string): boolean {
  try {
    return resolveServerAuth({}, { [name]: value }) !== undefined;
  } catch (err) {
    return (err as Error).message.includes(name);
  }
}

// ---------- the checks, run on the base and on each rendered overlay

let servingProbe: { server: RunningServer; cleanup(): void } | undefined;
let cli: Map<string, CliCommandInfo>;
let sourceEnv: Set<string>;

async function getStatus(path: string): Promise<number> {
  assert.ok(servingProbe);
  const res = await fetch(new URL(path, servingProbe.server.url));
  await res.arrayBuffer();
  return res.status;
}

function policyChecks(label: string, load: () => K8sObject[]): void {
  describe(label, () => {
    let objects: K8sObject[];
    before(() => {
      objects = load();
    });

    test("every object validates against the Kubernetes OpenAPI schema of its apiVersion", async () => {
      assert.ok(objects.length >= 10, `only ${objects.length} objects`);
      for (const o of objects) await validateObject(o);
    });

    test("it has the objects the deployment needs", () => {
      for (const [kind, name] of [
        ["Namespace", undefined],
        ["Deployment", MODEL_SERVER],
        ["Service", MODEL_SERVER],
        ["HorizontalPodAutoscaler", MODEL_SERVER],
        ["PodDisruptionBudget", MODEL_SERVER],
        ["ConfigMap", MODEL_SERVER],
        ["Deployment", TRACKING],
        ["Service", TRACKING],
        ["PersistentVolumeClaim", "polarity-tracking-data"],
        ["Job", "polarity-pipeline"],
      ] as const) {
        assert.ok(
          objects.some((o) => o.kind === kind && (name === undefined || o.metadata.name === name)),
          `${kind}${name ? `/${name}` : ""} is missing`,
        );
      }
      assert.equal(objects.filter((o) => o.kind === "Secret").length, 0, "no Secret is committed: credentials are referenced, created out of band");
    });

    test("every container is pinned, bounded and locked down", () => {
      for (const { object, podSpec } of workloads(objects)) {
        for (const c of podSpec.containers) {
          const where = `${object.kind}/${object.metadata.name} container ${c.name}`;
          assert.match(c.image, /(@sha256:[0-9a-f]{64}$)|(:[\w][\w.-]*$)/, `${where}: image '${c.image}' has neither a tag nor a digest`);
          assert.doesNotMatch(c.image, /:latest$/, `${where}: image uses :latest`);
          for (const r of ["cpu", "memory"]) {
            assert.ok(c.resources?.limits?.[r], `${where}: no ${r} limit`);
            assert.ok(c.resources?.requests?.[r], `${where}: no ${r} request`);
          }
          const sc = c.securityContext ?? {};
          const pod = podSpec.securityContext ?? {};
          assert.equal(sc.runAsNonRoot ?? pod.runAsNonRoot, true, `${where}: runAsNonRoot`);
          assert.notEqual(sc.runAsUser ?? pod.runAsUser, 0, `${where}: runs as uid 0`);
          assert.equal(sc.readOnlyRootFilesystem, true, `${where}: readOnlyRootFilesystem`);
          assert.equal(sc.allowPrivilegeEscalation, false, `${where}: allowPrivilegeEscalation`);
          assert.ok(sc.capabilities?.drop?.includes("ALL"), `${where}: capabilities.drop ALL`);
          assert.ok(!sc.privileged, `${where}: privileged`);
        }
      }
    });

    test("every polarity command a container runs exists with those flags in the real CLI", () => {
      for (const { object, podSpec } of workloads(objects)) {
        for (const c of podSpec.containers) {
          const invocations = polarityInvocations(c);
          assert.ok(invocations.length > 0, `${object.metadata.name}: runs no polarity command`);
          for (const argv of invocations) assert.deepEqual(checkCliInvocation(cli, argv), [], `${object.metadata.name}`);
        }
      }
      const job = find(objects, "Job", "polarity-pipeline");
      const commands = polarityInvocations(job.spec.template.spec.containers[0]).map((a) => a[0]);
      assert.deepEqual(commands, ["repro", "promote"], "the pipeline Job runs repro, then promote");
    });

    test("every env var a manifest sets is one the code reads", () => {
      for (const { object, podSpec } of workloads(objects)) {
        for (const c of podSpec.containers) {
          const env = containerEnv(c, objects);
          const commands = polarityInvocations(c).map((a) => a[0]);
          const argvText = [...(c.command ?? []), ...(c.args ?? [])].join(" ");
          for (const [name, value] of Object.entries(env)) {
            if (argvText.includes(`$(${name})`)) continue; // expanded by the kubelet into the command line
            const read =
              (commands.includes("serve") && readByServeConfig(name, value)) ||
              (commands.includes("server") && readByServerAuth(name, value)) ||
              sourceEnv.has(name);
            assert.ok(read, `${object.metadata.name} container ${c.name} sets ${name}, which nothing under src/ reads`);
          }
        }
      }
      // The tracking server really turns its token variable into required authentication.
      const tracking = find(objects, "Deployment", TRACKING).spec.template.spec.containers[0];
      assert.ok(resolveServerAuth({}, containerEnv(tracking, objects)), "the tracking server's env enables authentication");
    });

    test("model server: port, probes, Service, workers and shutdown agree with the server", async () => {
      const deployment = find(objects, "Deployment", MODEL_SERVER);
      const container = deployment.spec.template.spec.containers[0];
      const config: ServeConfig & { preStopDelayMs?: number } = resolveServeConfig({}, containerEnv(container, objects));
      const containerPorts: number[] = container.ports.map((p: any) => p.containerPort);
      assert.deepEqual(containerPorts, [config.port], "containerPort = the port the server listens on (PORT / default)");
      assert.equal(config.host, "0.0.0.0", "the server listens on all interfaces in the pod");

      assert.equal(deployment.spec.strategy.type, "RollingUpdate");
      assert.equal(deployment.spec.strategy.rollingUpdate.maxUnavailable, 0);
      for (const probe of ["startupProbe", "readinessProbe", "livenessProbe"]) {
        const p = container[probe];
        assert.ok(p?.httpGet, `${probe} is an HTTP probe`);
        assert.equal(resolvePort(container, p.httpGet.port), config.port, `${probe} port = server port`);
        assert.equal(await getStatus(p.httpGet.path), 200, `${probe} path ${p.httpGet.path} answers 200 on a real server with a model`);
      }
      assert.equal(container.readinessProbe.httpGet.path, "/readyz");
      assert.equal(container.livenessProbe.httpGet.path, "/healthz");

      const service = find(objects, "Service", MODEL_SERVER);
      assert.ok(matches(service.spec.selector, deployment.spec.template.metadata.labels), "Service selects the model-server pods");
      for (const port of service.spec.ports) assert.equal(resolvePort(container, port.targetPort), config.port, "Service targetPort = server port");

      const cpuLimit = cpuCores(container.resources.limits.cpu);
      assert.equal(config.workers, Math.max(1, Math.floor(cpuLimit)), `WEB_CONCURRENCY (${config.workers}) matches the CPU limit (${cpuLimit})`);
      const drainMs = (config.preStopDelayMs ?? 0) + config.shutdownTimeoutMs;
      assert.ok(
        deployment.spec.template.spec.terminationGracePeriodSeconds * 1000 > drainMs,
        `terminationGracePeriodSeconds covers the pre-stop delay + shutdown timeout (${drainMs} ms)`,
      );

      const prometheusConfig = join(K8S_DIR, "..", "prometheus", "prometheus.yml");
      if (existsSync(prometheusConfig)) {
        // deploy/prometheus keeps pods by label and annotation: these pods must be among them.
        const jobs = (
          parse(readFileSync(prometheusConfig, "utf8")) as {
            scrape_configs: { relabel_configs?: { source_labels?: string[]; regex?: string; action?: string }[] }[];
          }
        ).scrape_configs;
        const labels = deployment.spec.template.metadata.labels as Record<string, string>;
        const kept = jobs.some((j) =>
          (j.relabel_configs ?? [])
            .filter((r) => r.action === "keep" && r.source_labels?.length === 1 && r.source_labels[0].startsWith("__meta_kubernetes_pod_label_"))
            .every((r) => {
              const label = Object.keys(labels).find((k) => `__meta_kubernetes_pod_label_${k.replace(/[^a-zA-Z0-9_]/g, "_")}` === r.source_labels![0]);
              return label !== undefined && new RegExp(`^(?:${r.regex ?? "(.*)"})$`).test(labels[label]);
            }),
        );
        assert.ok(kept, "deploy/prometheus/prometheus.yml keeps the model-server pods");
      }
      const ann = deployment.spec.template.metadata.annotations ?? {};
      assert.equal(ann["prometheus.io/scrape"], "true", "every model-server pod is scraped");
      assert.equal(Number(ann["prometheus.io/port"]), config.port, "scrape port = server port");
      assert.equal(await getStatus(ann["prometheus.io/path"] ?? "/metrics"), 200, "the scrape path is served");
    });

    test("HPA and PDB target the model-server Deployment; every selector matches its pods", () => {
      const deployment = find(objects, "Deployment", MODEL_SERVER);
      const podLabels = deployment.spec.template.metadata.labels;
      const hpa = find(objects, "HorizontalPodAutoscaler", MODEL_SERVER);
      assert.equal(hpa.apiVersion, "autoscaling/v2");
      assert.deepEqual(hpa.spec.scaleTargetRef, { apiVersion: "apps/v1", kind: "Deployment", name: MODEL_SERVER });
      assert.ok(
        hpa.spec.metrics.some((m: any) => m.type === "Resource" && m.resource.name === "cpu"),
        "HPA scales on CPU",
      );
      assert.ok(hpa.spec.minReplicas <= hpa.spec.maxReplicas);
      assert.equal(deployment.spec.replicas, undefined, "the HPA owns the replica count");
      const pdb = find(objects, "PodDisruptionBudget", MODEL_SERVER);
      assert.ok(matches(pdb.spec.selector.matchLabels, podLabels), "PDB selects the model-server pods");
      if (pdb.spec.minAvailable !== undefined)
        assert.ok(pdb.spec.minAvailable < hpa.spec.minReplicas || hpa.spec.minReplicas === 1, "the PDB leaves room to drain a node at the HPA minimum");
      for (const { object, podLabels: labels } of workloads(objects)) {
        if (object.kind === "Job") continue;
        assert.ok(matches(object.spec.selector.matchLabels, labels), `${object.metadata.name}: selector matches its template`);
      }
      for (const service of objects.filter((o) => o.kind === "Service")) {
        const selected = workloads(objects).filter((w) => matches(service.spec.selector, w.podLabels));
        assert.ok(selected.length > 0, `Service ${service.metadata.name} selects no pods`);
        for (const w of selected) for (const port of service.spec.ports) resolvePort(w.podSpec.containers[0], port.targetPort);
      }
    });

    test("tracking server: one writer on a persistent volume, ports agree with its --port", () => {
      const deployment = find(objects, "Deployment", TRACKING);
      assert.equal(deployment.spec.replicas, 1);
      assert.equal(deployment.spec.strategy.type, "Recreate", "never two SQLite writers during a rollout");
      const container = deployment.spec.template.spec.containers[0];
      const argv: string[] = container.args;
      const portArg = argv.find((a) => a.startsWith("--port"));
      assert.ok(portArg, "the tracking server's port is explicit");
      const port = Number(portArg.includes("=") ? portArg.split("=")[1] : argv[argv.indexOf(portArg) + 1]);
      assert.deepEqual(
        container.ports.map((p: any) => p.containerPort),
        [port],
      );
      for (const probe of ["startupProbe", "readinessProbe", "livenessProbe"]) {
        const p = container[probe];
        assert.ok(p, `${probe} is set`);
        assert.equal(resolvePort(container, (p.tcpSocket ?? p.httpGet).port), port, `${probe} port = --port`);
      }
      const service = find(objects, "Service", TRACKING);
      for (const sp of service.spec.ports) assert.equal(resolvePort(container, sp.targetPort), port);
      const store = argv.find((a) => a.startsWith("--backend-store-uri"))!;
      const dataMount = container.volumeMounts.find((m: any) => store.includes(m.mountPath + "/"));
      assert.ok(dataMount, "the SQLite file lives on a mounted volume");
      const volume = deployment.spec.template.spec.volumes.find((v: any) => v.name === dataMount.name);
      find(objects, "PersistentVolumeClaim", volume.persistentVolumeClaim.claimName);
      // The model server and the Job reach it through its Service.
      const trackingUri = find(objects, "ConfigMap", MODEL_SERVER).data!.MLFLOW_TRACKING_URI;
      assert.equal(trackingUri, `http://${TRACKING}:${service.spec.ports[0].port}`);
    });

    test("Secrets are referenced, never written, and deploy/README.md says how to create them", () => {
      const readme = readText("deploy/README.md");
      const secretNames = new Set<string>();
      for (const { podSpec } of workloads(objects)) {
        for (const c of podSpec.containers) for (const e of c.env ?? []) if (e.valueFrom?.secretKeyRef) secretNames.add(e.valueFrom.secretKeyRef.name);
      }
      assert.ok(secretNames.size > 0);
      for (const name of secretNames)
        assert.match(readme, new RegExp(`kubectl[^\\n]*create secret generic ${name}`), `deploy/README.md creates Secret ${name}`);
    });

    test("one namespace for everything", () => {
      const namespaces = objects.filter((o) => o.kind === "Namespace").map((o) => o.metadata.name);
      assert.equal(namespaces.length, 1);
      for (const o of objects) if (o.kind !== "Namespace") assert.equal(o.metadata.namespace ?? namespaces[0], namespaces[0], `${o.kind}/${o.metadata.name}`);
    });
  });
}

describe("Kubernetes manifests", { timeout: 120_000 }, () => {
  const models = tempDir("polarity-deploy-");
  before(async () => {
    cli = await loadCliCommands();
    sourceEnv = envVarsReadBySource();
    const modelPath = join(models.path, "model.json");
    writeFileSync(modelPath, JSON.stringify(trainModelJson()));
    servingProbe = { server: await startLocal(modelPath), cleanup: models.cleanup };
  });
  after(async () => {
    await servingProbe?.server.close();
    models.cleanup();
  });

  test("the validator rejects a broken object (so the checks below can fail)", async () => {
    const deployment = structuredClone(loadBaseFiles().find((f) => f.object.kind === "Deployment")!.object);
    deployment.spec.template.spec.containers[0].ports[0].containerPort = "eighty";
    await assert.rejects(validateObject(deployment), /does not validate/);
    await assert.rejects(validateObject({ ...deployment, apiVersion: "apps/v9" }), /no schema/);
  });

  test("the env-var check notices a variable the server does not read", () => {
    assert.equal(readByServeConfig("PORT", "8080"), true);
    assert.equal(readByServeConfig("WEB_CONCURRENCY", "2"), true);
    assert.equal(readByServeConfig("MODEL_PATH", "/models/x.json"), false);
    assert.equal(sourceEnv.has("MODEL_PATH"), false);
    assert.equal(readByServerAuth("POLARITY_SERVER_TOKEN", "t"), true);
    assert.equal(readByServerAuth("POLARITY_TOKEN", "t"), false);
  });

  policyChecks("base (the files as written)", () => loadBaseFiles().map((f) => ({ ...f.object, metadata: { namespace: "polarity", ...f.object.metadata } })));

  const kustomize = findKustomize();
  describe("rendered with a real kustomize", { skip: kustomize ? false : KUSTOMIZE_SKIP }, () => {
    test("the base renders to the files as written", () => {
      const rendered = renderKustomization(join(K8S_DIR, "base"));
      assert.deepEqual(
        rendered.map((o) => `${o.kind}/${o.metadata.name}`).sort(),
        loadBaseFiles()
          .map((f) => `${f.object.kind}/${f.object.metadata.name}`)
          .sort(),
      );
    });
    for (const overlay of OVERLAYS) policyChecks(`overlay ${overlay}`, () => renderOverlay(overlay));

    const others = readdirSync(join(K8S_DIR, "overlays")).filter((d) => !(OVERLAYS as readonly string[]).includes(d));
    for (const overlay of others) {
      test(`overlay ${overlay} renders, validates against the schemas, and its containers are locked down`, async () => {
        const objects = renderKustomization(join(K8S_DIR, "overlays", overlay));
        for (const o of objects) await validateObject(o);
        for (const { object, podSpec } of workloads(objects)) {
          for (const c of podSpec.containers) {
            const sc = c.securityContext ?? {};
            assert.doesNotMatch(c.image, /:latest$|^[^:@]+$/, `${object.metadata.name}: pinned image`);
            assert.ok(c.resources?.limits?.cpu && c.resources?.limits?.memory, `${object.metadata.name}: limits`);
            assert.equal(sc.readOnlyRootFilesystem, true, `${object.metadata.name}: readOnlyRootFilesystem`);
            assert.equal(sc.allowPrivilegeEscalation, false, `${object.metadata.name}: allowPrivilegeEscalation`);
            assert.ok(sc.capabilities?.drop?.includes("ALL"), `${object.metadata.name}: drop ALL`);
            assert.equal(sc.runAsNonRoot ?? podSpec.securityContext?.runAsNonRoot, true, `${object.metadata.name}: runAsNonRoot`);
            for (const argv of polarityInvocations(c)) assert.deepEqual(checkCliInvocation(cli, argv), [], object.metadata.name);
            // A Secret's value never reaches the command line (the pod spec's args, the node's process list).
            const argvText = [...(c.command ?? []), ...(c.args ?? [])].join(" ");
            for (const e of c.env ?? [])
              if (e.valueFrom?.secretKeyRef)
                assert.ok(!argvText.includes(`$(${e.name})`), `${object.metadata.name}: Secret-backed ${e.name} expanded into args`);
            // Without a volume, the tracking server's store is the database URI from the Secret, read from the environment.
            const shared = !objects.some((o) => o.kind === "PersistentVolumeClaim");
            if (shared && polarityInvocations(c).some((argv) => argv[0] === "server"))
              assert.equal(resolveServerStore({}, containerEnv(c, objects)).backendStoreUri, "secret-polarity-tracking-db-uri", object.metadata.name);
          }
        }
        assert.equal(objects.filter((o) => o.kind === "Secret").length, 0, "no Secret is committed");
      });
    }

    test("dev and prod differ where they should: Service type, replicas, CPU and workers", () => {
      const dev = renderOverlay("dev");
      const prod = renderOverlay("prod");
      assert.equal(find(prod, "Service", MODEL_SERVER).spec.type, "LoadBalancer");
      assert.equal(find(dev, "Service", MODEL_SERVER).spec.type, "ClusterIP");
      assert.ok(find(prod, "HorizontalPodAutoscaler", MODEL_SERVER).spec.minReplicas >= 2);
      const prodContainer = find(prod, "Deployment", MODEL_SERVER).spec.template.spec.containers[0];
      assert.ok(cpuCores(prodContainer.resources.limits.cpu) >= 2, "prod pods get two CPUs (two worker processes)");
      assert.notEqual(find(dev, "Namespace", "polarity-dev").metadata.name, find(prod, "Namespace", "polarity").metadata.name);
    });
  });
});
