/**
 * Word lists used by preprocessing. Kept as data, apart from the scanner, so a reader can
 * check them at a glance.
 */

/**
 * Words that negate what follows. They are never removed as stopwords and they open a
 * negation scope when `negationScope` is on. "not" is also what every n't contraction
 * turns into (see `NEGATED_CONTRACTIONS`).
 */
export const NEGATION_WORDS: ReadonlySet<string> = new Set(["not", "no", "nor", "never", "cannot", "none", "nobody", "nothing", "neither", "nowhere", "noone"]);

/**
 * scikit-learn's ENGLISH_STOP_WORDS (318 words, from the Glasgow list) minus the negation
 * words above, minus "without" (negative polarity), and minus sklearn's apostrophe-less
 * contractions "cant", "couldnt", "hasnt" (we expand those to "<verb> not" instead).
 */
export const ENGLISH_STOP_WORDS: ReadonlySet<string> = new Set(
  (
    "a about above across after afterwards again against all almost alone along already also although always am among " +
    "amongst amoungst amount an and another any anyhow anyone anything anyway anywhere are around as at back be became " +
    "because become becomes becoming been before beforehand behind being below beside besides between beyond bill both " +
    "bottom but by call can co con could cry de describe detail do done down due during each eg eight either " +
    "eleven else elsewhere empty enough etc even ever every everyone everything everywhere except few fifteen fifty fill " +
    "find fire first five for former formerly forty found four from front full further get give go had has have he " +
    "hence her here hereafter hereby herein hereupon hers herself him himself his how however hundred i ie if in inc " +
    "indeed interest into is it its itself keep last latter latterly least less ltd made many may me meanwhile might " +
    "mill mine more moreover most mostly move much must my myself name namely nevertheless next nine " +
    "now of off often on once one only onto or other others otherwise our ours ourselves out over own part per " +
    "perhaps please put rather re same see seem seemed seeming seems serious several she should show side since sincere " +
    "six sixty so some somehow someone something sometime sometimes somewhere still such system take ten than that the " +
    "their them themselves then thence there thereafter thereby therefore therein thereupon these they thick thin third " +
    "this those though three through throughout thru thus to together too top toward towards twelve twenty two un under " +
    "until up upon us very via was we well were what whatever when whence whenever where whereafter whereas whereby " +
    "wherein whereupon wherever whether which while whither who whoever whole whom whose why will with within would " +
    "yet you your yours yourself yourselves"
  ).split(" "),
);

/**
 * n't contractions whose stem is not the verb itself: "can't" → "can not", "won't" →
 * "will not", "shan't" → "shall not", "ain't" → "is not". Every other "Xn't" becomes
 * "X" + "not" ("don't" → "do not", "isn't" → "is not").
 */
export const IRREGULAR_NT_STEMS: ReadonlyMap<string, string> = new Map([
  ["ca", "can"],
  ["wo", "will"],
  ["sha", "shall"],
  ["ai", "is"],
]);

/**
 * The same contractions typed without the apostrophe, as reviews often are ("dont",
 * "didnt"): the stem before "not". "wont" and "cant" are included — in review text they
 * are nearly always the contraction.
 */
export const APOSTROPHELESS_NT: ReadonlyMap<string, string> = new Map([
  ["dont", "do"],
  ["doesnt", "does"],
  ["didnt", "did"],
  ["isnt", "is"],
  ["wasnt", "was"],
  ["arent", "are"],
  ["werent", "were"],
  ["cant", "can"],
  ["couldnt", "could"],
  ["wouldnt", "would"],
  ["shouldnt", "should"],
  ["wont", "will"],
  ["hasnt", "has"],
  ["havent", "have"],
  ["hadnt", "had"],
  ["aint", "is"],
  ["mustnt", "must"],
  ["neednt", "need"],
  ["mightnt", "might"],
  ["shant", "shall"],
]);
