export { DEFAULT_SEARCH_SPACE, describeTrial, expandSpace, type SearchSpace, type TrialConfig } from "./space.js";
export { FoldScorer, type TrialResult } from "./trials.js";
export { rankTrials, runSearch, type SearchMethod, type SearchOptions, type SearchResult } from "./search.js";
export { FoldWorkerPool } from "./pool.js";
