import { loadUciSentences, type UciSource } from "../../src/data/builtin.js";
import { SentimentModel } from "../../src/models/sentiment-model.js";
import { buildReferenceProfile } from "../../src/monitoring/profile.js";
import { shuffledIndices } from "../../src/util/random.js";

export interface LabelledSet {
  texts: string[];
  labels: number[];
}

export interface ProfiledFixture {
  /** The bundle JSON with metadata.referenceProfile built on `reference`. */
  json: ReturnType<SentimentModel["toJSON"]>;
  model: SentimentModel;
  /** Held-out sentences of the training domains, never fitted nor profiled: the in-distribution stream. */
  stream: LabelledSet;
  /** Sentences of `heldOutSource` (not trained on): the other-domain stream. */
  otherDomain: LabelledSet;
}

const cache = new Map<string, ProfiledFixture>();

/**
 * A real model and profile from the 3,000 UCI sentences (seeded split): trained on 60 % of
 * the `trainSources` sentences, profiled on 20 % (held out), the last 20 % kept as the
 * in-distribution stream; `heldOutSource` (if any) is kept out entirely as another domain.
 */
export function profiledModel(heldOutSource: UciSource | null = null): ProfiledFixture {
  const key = heldOutSource ?? "none";
  const hit = cache.get(key);
  if (hit) return hit;
  const uci = loadUciSentences();
  const inDomain: number[] = [];
  const other: LabelledSet = { texts: [], labels: [] };
  for (let i = 0; i < uci.texts.length; i++) {
    if (uci.sources[i] === heldOutSource) {
      other.texts.push(uci.texts[i]);
      other.labels.push(uci.labels[i]);
    } else inDomain.push(i);
  }
  const order = shuffledIndices(inDomain.length, 7);
  const pick = (from: number, to: number): LabelledSet => {
    const set: LabelledSet = { texts: [], labels: [] };
    for (let j = from; j < to; j++) {
      const i = inDomain[order[j]];
      set.texts.push(uci.texts[i]);
      set.labels.push(uci.labels[i]);
    }
    return set;
  };
  const n = inDomain.length;
  const train = pick(0, Math.floor(0.6 * n));
  const reference = pick(Math.floor(0.6 * n), Math.floor(0.8 * n));
  const stream = pick(Math.floor(0.8 * n), n);
  const model = SentimentModel.train(train.texts, train.labels, { features: { kind: "tfidf", ngramRange: [1, 2] }, model: { kind: "logreg", C: 4 } });
  const profile = buildReferenceProfile(model, reference.texts, reference.labels);
  const json = model.toJSON();
  json.metadata = { ...json.metadata, referenceProfile: profile };
  const fixture = { json, model: SentimentModel.fromJSON(json), stream, otherDomain: other };
  cache.set(key, fixture);
  return fixture;
}
