export {
  DEFAULT_PREPROCESS_CONFIG,
  LIGHT_PREPROCESS_CONFIG,
  createPreprocessor,
  preprocess,
  preprocessMany,
  preprocessToString,
  resolvePreprocessConfig,
  type PreprocessConfig,
  type WordForm,
} from "./preprocess.js";
export { ENGLISH_STOP_WORDS, NEGATION_WORDS } from "./stopwords.js";
export { lemmatize, porterStem } from "./word-forms.js";
