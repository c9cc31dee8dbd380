import { Random } from "../util/random.js";

/**
 * A CheckList-style behavioural suite (Ribeiro et al. 2020, "Beyond Accuracy: Behavioral
 * Testing of NLP Models with CheckList"): small generated test sets per capability, each of
 * one of CheckList's three test types, scored as failure rates next to accuracy.
 *
 * - MFT, minimum functionality: a text with a known label ("The service was not bad." is
 *   positive); fails when the model predicts the other one.
 * - INV, invariance: a perturbation that must not change the prediction (a typo, another
 *   person's name or city, filler); fails when the predicted label changes.
 * - DIR, directional expectation: a perturbation that must move P(positive) one way
 *   ("good" → "very good" must not lower it); fails when it moves the other way by more than
 *   CheckList's tolerance (0.1 by default).
 *
 * Capabilities: vocabulary (words a small training set may never have seen), negation,
 * intensifiers, emoji, typos, names and locations, filler. Cases come from templates filled
 * with fixed word lists; the random choices (typo positions, name pairs) come from a seeded
 * generator, so a suite is the same for the same seed. Pure: the model is a function from
 * texts to P(positive), so a bundle, a served model or another system can be checked.
 */

export type TestType = "MFT" | "INV" | "DIR";
export type Polarity = "positive" | "negative";

export interface BehaviourCase {
  text: string;
  /** INV and DIR: the perturbed text. */
  perturbed?: string;
  /** MFT: the expected label. */
  expected?: Polarity;
  /** DIR: P(positive) must go up (not down by more than the tolerance) or down. */
  direction?: "up" | "down";
}

export interface BehaviourTest {
  name: string;
  capability: string;
  type: TestType;
  description: string;
  cases: BehaviourCase[];
}

export interface TestResult {
  name: string;
  capability: string;
  type: TestType;
  description: string;
  cases: number;
  failures: number;
  failureRate: number;
  /** Up to three failing cases, for the report. */
  examples: { text: string; perturbed?: string; pPositive: number; pPerturbed?: number; expected?: Polarity; direction?: "up" | "down" }[];
}

export interface RateSummary {
  cases: number;
  failures: number;
  failureRate: number;
}

export interface BehaviourReport {
  tests: TestResult[];
  byType: Record<TestType, RateSummary>;
  byCapability: Record<string, RateSummary>;
  overall: RateSummary;
  seed: number;
  tolerance: number;
}

/** P(positive) of each text (0..1). */
export type PositiveScorer = (texts: readonly string[]) => ArrayLike<number> | Promise<ArrayLike<number>>;

// ---- word lists ---------------------------------------------------------------------------

const NOUNS = ["food", "service", "movie", "phone", "battery", "screen", "staff", "book", "hotel room", "headset"];
/** Common polar adjectives. */
const POS_ADJ = ["good", "great", "excellent", "wonderful", "amazing", "fantastic", "nice", "perfect"];
const NEG_ADJ = ["bad", "terrible", "awful", "horrible", "poor", "disappointing", "useless", "boring"];
/** Rarer ones, the kind a 3,000-sentence training set may not contain. */
const POS_RARE = ["gorgeous", "superb", "splendid", "delightful", "stellar", "marvelous", "exquisite", "flawless"];
const NEG_RARE = ["dreadful", "abysmal", "atrocious", "dismal", "shoddy", "lousy", "appalling", "pathetic"];
const INTENSIFIERS = ["very", "extremely", "really", "incredibly", "absolutely"];
const POS_EMOJI = ["😍", "😊", "👍", "❤", "😁", "🎉"];
const NEG_EMOJI = ["😡", "😞", "👎", "😠", "😢", "💩"];
const NAMES = ["Maria", "John", "Aisha", "Wei", "Carlos", "Olga", "Kwame", "Priya", "Hiroshi", "Fatima"];
const CITIES = ["Chicago", "Lagos", "Mumbai", "Berlin", "Lima", "Osaka", "Cairo", "Toronto", "Jakarta", "Madrid"];
const FILLER = ["The weather is mild.", "I bought it on a Tuesday.", "My order number ends in 42."];

const POS_SENTENCES = [
  "I love this product, it works great.",
  "Excellent service and very friendly staff.",
  "This is the best movie I have seen in years.",
  "Highly recommended, a wonderful experience.",
  "The food was delicious and the price was fair.",
  "Great phone, the battery lasts all day.",
  "The staff were helpful and the room was clean.",
  "What a fantastic book, I could not put it down.",
];
const NEG_SENTENCES = [
  "This is terrible, it broke after one day.",
  "Worst customer service ever, very disappointed.",
  "The movie was boring and a complete waste of time.",
  "I hate it, do not buy this.",
  "The food was cold and the staff were rude.",
  "The battery died within an hour, useless phone.",
  "The room was dirty and the bed was uncomfortable.",
  "A dull book with a predictable plot.",
];

// ---- the suite ------------------------------------------------------------------------------

function cross<A, B>(as: readonly A[], bs: readonly B[]): [A, B][] {
  return as.flatMap((a) => bs.map((b): [A, B] => [a, b]));
}

/** Swaps two different adjacent letters inside one word of 4+ letters, first and last letters kept (the position from `rand`); null if there is none. */
export function typo(text: string, rand: () => number): string | null {
  const spots: number[] = [];
  for (const m of text.matchAll(/[A-Za-z]{4,}/g)) {
    const at = m.index ?? 0;
    for (let k = 1; k + 2 < m[0].length; k++) if (m[0][k] !== m[0][k + 1]) spots.push(at + k);
  }
  if (spots.length === 0) return null;
  const i = spots[Math.floor(rand() * spots.length)];
  return text.slice(0, i) + text[i + 1] + text[i] + text.slice(i + 2);
}

/** The built-in suite: the same cases for the same seed. */
export function behaviourSuite(seed = 42): BehaviourTest[] {
  const rng = new Random(seed);
  const rand = (): number => rng.nextFloat();
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
  const labelled = [...POS_SENTENCES.map((t) => [t, "positive"] as const), ...NEG_SENTENCES.map((t) => [t, "negative"] as const)];
  const tests: BehaviourTest[] = [
    {
      name: "common polar adjectives",
      capability: "vocabulary",
      type: "MFT",
      description: "The {noun} is {good|bad adjective}.",
      cases: [
        ...cross(NOUNS, POS_ADJ).map(([n, a]): BehaviourCase => ({ text: `The ${n} is ${a}.`, expected: "positive" })),
        ...cross(NOUNS, NEG_ADJ).map(([n, a]): BehaviourCase => ({ text: `The ${n} is ${a}.`, expected: "negative" })),
      ],
    },
    {
      name: "rare polar adjectives",
      capability: "vocabulary",
      type: "MFT",
      description: "The {noun} is {rare adjective} (gorgeous, abysmal, …): words a small training set may not have seen.",
      cases: [
        ...cross(NOUNS, POS_RARE).map(([n, a]): BehaviourCase => ({ text: `The ${n} is ${a}.`, expected: "positive" })),
        ...cross(NOUNS, NEG_RARE).map(([n, a]): BehaviourCase => ({ text: `The ${n} is ${a}.`, expected: "negative" })),
      ],
    },
    {
      name: "negated adjectives",
      capability: "negation",
      type: "MFT",
      description: "The {noun} is not {adjective}: the label is the opposite of the adjective's.",
      cases: [
        ...cross(NOUNS, POS_ADJ).map(([n, a]): BehaviourCase => ({ text: `The ${n} is not ${a}.`, expected: "negative" })),
        ...cross(NOUNS, NEG_ADJ).map(([n, a]): BehaviourCase => ({ text: `The ${n} is not ${a}.`, expected: "positive" })),
      ],
    },
    {
      name: "negation moves the score",
      capability: "negation",
      type: "DIR",
      description: "Inserting 'not' before a positive adjective lowers P(positive); before a negative one raises it.",
      cases: [
        ...cross(NOUNS, POS_ADJ).map(([n, a]): BehaviourCase => ({ text: `The ${n} is ${a}.`, perturbed: `The ${n} is not ${a}.`, direction: "down" })),
        ...cross(NOUNS, NEG_ADJ).map(([n, a]): BehaviourCase => ({ text: `The ${n} is ${a}.`, perturbed: `The ${n} is not ${a}.`, direction: "up" })),
      ],
    },
    {
      name: "intensifiers",
      capability: "intensifiers",
      type: "DIR",
      description: "'good' → 'very good' must not lower P(positive); 'bad' → 'very bad' must not raise it.",
      cases: [
        ...cross(NOUNS, POS_ADJ).map(([n, a]): BehaviourCase => ({
          text: `The ${n} is ${a}.`,
          perturbed: `The ${n} is ${pick(INTENSIFIERS)} ${a}.`,
          direction: "up",
        })),
        ...cross(NOUNS, NEG_ADJ).map(([n, a]): BehaviourCase => ({
          text: `The ${n} is ${a}.`,
          perturbed: `The ${n} is ${pick(INTENSIFIERS)} ${a}.`,
          direction: "down",
        })),
      ],
    },
    {
      name: "emoji alone",
      capability: "emoji",
      type: "MFT",
      description: "The {noun} {emoji}: the emoji carries the sentiment.",
      cases: [
        ...cross(NOUNS, POS_EMOJI).map(([n, e]): BehaviourCase => ({ text: `The ${n} ${e}`, expected: "positive" })),
        ...cross(NOUNS, NEG_EMOJI).map(([n, e]): BehaviourCase => ({ text: `The ${n} ${e}`, expected: "negative" })),
      ],
    },
    {
      name: "typos",
      capability: "typos",
      type: "INV",
      description: "Two adjacent letters swapped in one word must not change the label.",
      cases: labelled.flatMap(([t]) =>
        [0, 1, 2].flatMap((): BehaviourCase[] => {
          const p = typo(t, rand);
          return p === null || p === t ? [] : [{ text: t, perturbed: p }];
        }),
      ),
    },
    {
      name: "names swapped",
      capability: "names and locations",
      type: "INV",
      description: "{name} said: {review} — another name must not change the label.",
      cases: labelled.flatMap(([t]) =>
        [0, 1].map((): BehaviourCase => {
          const a = pick(NAMES);
          const b = pick(NAMES.filter((x) => x !== a));
          return { text: `${a} said: ${t}`, perturbed: `${b} said: ${t}` };
        }),
      ),
    },
    {
      name: "locations swapped",
      capability: "names and locations",
      type: "INV",
      description: "{review} We were in {city}. — another city must not change the label.",
      cases: labelled.flatMap(([t]) =>
        [0, 1].map((): BehaviourCase => {
          const a = pick(CITIES);
          const b = pick(CITIES.filter((x) => x !== a));
          return { text: `${t} We were in ${a}.`, perturbed: `${t} We were in ${b}.` };
        }),
      ),
    },
    {
      name: "neutral filler",
      capability: "filler",
      type: "INV",
      description: "A neutral sentence appended must not change the label.",
      cases: cross(labelled, FILLER).map(([[t], f]): BehaviourCase => ({ text: t, perturbed: `${t} ${f}` })),
    },
  ];
  return tests;
}

// ---- running --------------------------------------------------------------------------------

function rate(cases: number, failures: number): RateSummary {
  return { cases, failures, failureRate: cases === 0 ? 0 : failures / cases };
}

/** Scores every case of `tests` with `scorer` (one call for all texts) and summarises failure rates per test, type and capability. */
export async function runBehaviourSuite(
  tests: readonly BehaviourTest[],
  scorer: PositiveScorer,
  options: { tolerance?: number; seed?: number } = {},
): Promise<BehaviourReport> {
  const tolerance = options.tolerance ?? 0.1;
  const texts: string[] = [];
  const index = new Map<string, number>();
  const at = (t: string): number => {
    let i = index.get(t);
    if (i === undefined) {
      i = texts.length;
      texts.push(t);
      index.set(t, i);
    }
    return i;
  };
  for (const t of tests)
    for (const c of t.cases) {
      at(c.text);
      if (c.perturbed !== undefined) at(c.perturbed);
    }
  const p = texts.length === 0 ? [] : Array.from(await scorer(texts));
  if (p.length !== texts.length) throw new Error(`behaviour suite: the scorer returned ${p.length} scores for ${texts.length} texts`);
  const results: TestResult[] = tests.map((t) => {
    let failures = 0;
    const examples: TestResult["examples"] = [];
    for (const c of t.cases) {
      const p0 = p[at(c.text)];
      const p1 = c.perturbed === undefined ? undefined : p[at(c.perturbed)];
      let failed: boolean;
      if (t.type === "MFT") failed = (p0 >= 0.5 ? "positive" : "negative") !== c.expected;
      else if (t.type === "INV") failed = p0 >= 0.5 !== (p1 as number) >= 0.5;
      else failed = c.direction === "up" ? (p1 as number) < p0 - tolerance : (p1 as number) > p0 + tolerance;
      if (failed) {
        failures++;
        if (examples.length < 3)
          examples.push({
            text: c.text,
            ...(c.perturbed !== undefined ? { perturbed: c.perturbed, pPerturbed: p1 } : {}),
            pPositive: p0,
            ...(c.expected ? { expected: c.expected } : {}),
            ...(c.direction ? { direction: c.direction } : {}),
          });
      }
    }
    return {
      name: t.name,
      capability: t.capability,
      type: t.type,
      description: t.description,
      cases: t.cases.length,
      failures,
      failureRate: t.cases.length === 0 ? 0 : failures / t.cases.length,
      examples,
    };
  });
  const sum = (rs: TestResult[]) =>
    rate(
      rs.reduce((a, r) => a + r.cases, 0),
      rs.reduce((a, r) => a + r.failures, 0),
    );
  const byType = {
    MFT: sum(results.filter((r) => r.type === "MFT")),
    INV: sum(results.filter((r) => r.type === "INV")),
    DIR: sum(results.filter((r) => r.type === "DIR")),
  };
  const byCapability: Record<string, RateSummary> = {};
  for (const cap of [...new Set(results.map((r) => r.capability))]) byCapability[cap] = sum(results.filter((r) => r.capability === cap));
  return { tests: results, byType, byCapability, overall: sum(results), seed: options.seed ?? 42, tolerance };
}
