/**
 * Leave-one-source-out on the built-in UCI sentences (train on two of amazon/imdb/yelp, test
 * on the third) for candidate defaults, next to scikit-learn's plain pipeline
 * (TfidfVectorizer(ngram_range=(1, 2)) + LogisticRegression(), words as sklearn tokenises
 * them) on the same splits. The evidence behind the defaults in docs/models.md.
 *
 *   npx tsx bench/loso.ts            (every candidate)
 *   npx tsx bench/loso.ts --match lexicon   (candidates whose name contains a word, plus the old default)
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { UCI_SOURCES, loadUciSentences } from "../src/data/builtin.js";
import { SentimentModel, type TrainOptions } from "../src/models/sentiment-model.js";
import { DEFAULT_PREPROCESS_CONFIG, LIGHT_PREPROCESS_CONFIG } from "../src/text/preprocess.js";

const PY = String.raw`
import sys, json
from sklearn.pipeline import make_pipeline
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
d = json.load(open(sys.argv[1]))
out = {}
for held in d["sources"]:
    tr = [i for i, s in enumerate(d["src"]) if s != held]; te = [i for i, s in enumerate(d["src"]) if s == held]
    m = make_pipeline(TfidfVectorizer(ngram_range=(1, 2)), LogisticRegression()).fit([d["texts"][i] for i in tr], [d["labels"][i] for i in tr])
    out[held] = float((m.predict([d["texts"][i] for i in te]) == [d["labels"][i] for i in te]).mean())
print(json.dumps(out))
`;

const CANDIDATES: [string, TrainOptions][] = [
  [
    "default prep, tfidf sublinear, logreg C=10 (old default)",
    { preprocess: DEFAULT_PREPROCESS_CONFIG, features: { kind: "tfidf", ngramRange: [1, 2], sublinearTf: true }, model: { kind: "logreg", C: 10 } },
  ],
  [
    "light prep, tfidf sublinear, logreg C=10",
    { preprocess: LIGHT_PREPROCESS_CONFIG, features: { kind: "tfidf", ngramRange: [1, 2], sublinearTf: true }, model: { kind: "logreg", C: 10 } },
  ],
  [
    "light prep, tfidf sublinear, logreg C=100",
    { preprocess: LIGHT_PREPROCESS_CONFIG, features: { kind: "tfidf", ngramRange: [1, 2], sublinearTf: true }, model: { kind: "logreg", C: 100 } },
  ],
  ["light prep, bow, nbsvm (svm, β=0.25)", { preprocess: LIGHT_PREPROCESS_CONFIG, features: { kind: "bow", ngramRange: [1, 2] }, model: { kind: "nbsvm" } }],
  [
    "light prep, bow, nbsvm (logreg C=1)",
    { preprocess: LIGHT_PREPROCESS_CONFIG, features: { kind: "bow", ngramRange: [1, 2] }, model: { kind: "nbsvm", base: "logreg" } },
  ],
  [
    "light prep, tfidf sublinear, svm C=1",
    { preprocess: LIGHT_PREPROCESS_CONFIG, features: { kind: "tfidf", ngramRange: [1, 2], sublinearTf: true }, model: { kind: "svm" } },
  ],
  [
    "light+negation scope, bow, nbsvm",
    { preprocess: { ...LIGHT_PREPROCESS_CONFIG, negationScope: true }, features: { kind: "bow", ngramRange: [1, 2] }, model: { kind: "nbsvm" } },
  ],
  ["default prep, bow, nbsvm", { preprocess: DEFAULT_PREPROCESS_CONFIG, features: { kind: "bow", ngramRange: [1, 2] }, model: { kind: "nbsvm" } }],
  // The lexicon block (featurize.lexicon, issue 13) on the current default and on words as written.
  ...(["afinn", "vader"] as const).flatMap((lexicon): [string, TrainOptions][] => [
    [
      `default prep, tfidf sublinear + ${lexicon}, logreg C=10`,
      { preprocess: DEFAULT_PREPROCESS_CONFIG, features: { kind: "tfidf", ngramRange: [1, 2], sublinearTf: true, lexicon }, model: { kind: "logreg", C: 10 } },
    ],
    [
      `light prep, tfidf sublinear + ${lexicon}, logreg C=10`,
      { preprocess: LIGHT_PREPROCESS_CONFIG, features: { kind: "tfidf", ngramRange: [1, 2], sublinearTf: true, lexicon }, model: { kind: "logreg", C: 10 } },
    ],
    [
      `light prep, tfidf sublinear + ${lexicon}, svm C=1`,
      { preprocess: LIGHT_PREPROCESS_CONFIG, features: { kind: "tfidf", ngramRange: [1, 2], sublinearTf: true, lexicon }, model: { kind: "svm" } },
    ],
  ]),
];

function main(): void {
  const { texts, labels, sources } = loadUciSentences();
  console.log(
    `# leave-one-source-out on the UCI sentences (train on 2000, test on 1000); load ${loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")}`,
  );
  const header = ["config", ...UCI_SOURCES.map((s) => `held-out ${s}`), "mean"];
  const rows: string[][] = [];
  const match = process.argv.indexOf("--match");
  const word = match >= 0 ? process.argv[match + 1] : undefined;
  for (const [name, options] of CANDIDATES.filter(([n], i) => word === undefined || i === 0 || n.includes(word))) {
    const accs = UCI_SOURCES.map((held) => {
      const tr = texts.map((_, i) => i).filter((i) => sources[i] !== held);
      const te = texts.map((_, i) => i).filter((i) => sources[i] === held);
      const m = SentimentModel.train(
        tr.map((i) => texts[i]),
        tr.map((i) => labels[i]),
        options,
      );
      const pred = m.predict(te.map((i) => texts[i]));
      return pred.filter((p, q) => p.label === labels[te[q]]).length / te.length;
    });
    rows.push([name, ...accs.map((a) => a.toFixed(3)), (accs.reduce((a, b) => a + b, 0) / accs.length).toFixed(3)]);
  }
  const dir = mkdtempSync(join(tmpdir(), "polarity-loso-"));
  try {
    writeFileSync(join(dir, "d.json"), JSON.stringify({ texts, labels, src: sources, sources: UCI_SOURCES }));
    const py = spawnSync(existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3", ["-c", PY, join(dir, "d.json")], { encoding: "utf8" });
    if (py.status === 0) {
      const sk = JSON.parse(py.stdout) as Record<string, number>;
      const accs = UCI_SOURCES.map((s) => sk[s]);
      rows.push(["sklearn TfidfVectorizer((1,2)) + LogisticRegression()", ...accs.map((a) => a.toFixed(3)), (accs.reduce((a, b) => a + b, 0) / 3).toFixed(3)]);
    } else console.log(`# scikit-learn row skipped (apt-get install -y python3-sklearn): ${py.stderr.trim().split("\n").pop() ?? ""}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  for (const r of [header, ...rows]) console.log(r.map((v, c) => v.padEnd(widths[c])).join("  "));
}

main();
