import { InvalidParameterError } from "../util/errors.js";

/**
 * MLflow's search filter grammar (mlflow/utils/search_utils.py), parsed by hand:
 *
 *   filter     := clause ( AND clause )*
 *   clause     := identifier comparator value
 *   identifier := entity "." key | attribute        e.g. metrics.acc, params.`lr`, tags."a b"
 *   value      := number | 'string' | "string" | ( 'a', 'b', … )
 *
 * No OR, no parentheses around clauses. Errors name the offending token and its position.
 */

export type EntityType = "metric" | "parameter" | "tag" | "attribute" | "dataset";
export type Comparator = "=" | "!=" | ">" | ">=" | "<" | "<=" | "LIKE" | "ILIKE" | "IN" | "NOT IN";

export interface FilterClause {
  type: EntityType;
  key: string;
  comparator: Comparator;
  value: number | string | string[];
}

export interface OrderByClause {
  type: EntityType;
  key: string;
  ascending: boolean;
}

const ENTITY_ALIASES: Record<string, EntityType> = {
  metric: "metric",
  metrics: "metric",
  parameter: "parameter",
  parameters: "parameter",
  param: "parameter",
  params: "parameter",
  tag: "tag",
  tags: "tag",
  attribute: "attribute",
  attributes: "attribute",
  attr: "attribute",
  run: "attribute",
  dataset: "dataset",
  datasets: "dataset",
};

const NUMERIC_COMPARATORS: readonly Comparator[] = [">", ">=", "!=", "=", "<", "<="];
const STRING_COMPARATORS: readonly Comparator[] = ["!=", "=", "LIKE", "ILIKE"];
const STRING_LIST_COMPARATORS: readonly Comparator[] = ["!=", "=", "LIKE", "ILIKE", "IN", "NOT IN"];

/** What a particular search (runs, experiments, models, versions) accepts. */
export interface FilterDialect {
  what: string;
  entities: readonly EntityType[];
  numericAttributes: readonly string[];
  stringAttributes: readonly string[];
  /** Attributes that take `IN (…)` lists. */
  listAttributes: readonly string[];
  /** Renames such as created → start_time. */
  attributeAliases?: Record<string, string>;
  orderAttributes: readonly string[];
}

export const RUN_FILTER: FilterDialect = {
  what: "runs",
  entities: ["metric", "parameter", "tag", "attribute", "dataset"],
  numericAttributes: ["start_time", "end_time"],
  stringAttributes: ["run_id", "run_name", "status", "user_id", "artifact_uri"],
  listAttributes: ["run_id"],
  attributeAliases: { created: "start_time", Created: "start_time", "run name": "run_name", "Run name": "run_name", "Run Name": "run_name" },
  orderAttributes: ["start_time", "end_time", "run_name", "status", "user_id", "artifact_uri", "run_id"],
};

export const EXPERIMENT_FILTER: FilterDialect = {
  what: "experiments",
  entities: ["attribute", "tag"],
  numericAttributes: ["creation_time", "last_update_time"],
  stringAttributes: ["name"],
  listAttributes: [],
  orderAttributes: ["name", "creation_time", "last_update_time", "experiment_id"],
};

export const REGISTERED_MODEL_FILTER: FilterDialect = {
  what: "registered models",
  entities: ["attribute", "tag"],
  numericAttributes: [],
  stringAttributes: ["name"],
  listAttributes: [],
  orderAttributes: ["name", "timestamp", "last_updated_timestamp", "creation_timestamp"],
};

export const MODEL_VERSION_FILTER: FilterDialect = {
  what: "model versions",
  entities: ["attribute", "tag"],
  numericAttributes: ["version_number"],
  stringAttributes: ["name", "run_id", "source_path"],
  listAttributes: ["run_id"],
  orderAttributes: ["name", "version_number", "creation_timestamp", "last_updated_timestamp", "timestamp"],
};

interface Token {
  kind: "ident" | "string" | "number" | "op" | "lparen" | "rparen" | "comma" | "end";
  text: string;
  pos: number;
  /** For quoted strings and quoted identifiers: the content without quotes. */
  value?: string;
  quote?: string;
}

function fail(source: string, message: string): never {
  throw new InvalidParameterError(`Invalid filter '${source}': ${message}`);
}

function tokenize(src: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const start = i;
    if (c === "'" || c === '"' || c === "`") {
      const end = src.indexOf(c, i + 1);
      if (end < 0) fail(src, `unterminated quote ${c} starting at position ${start}`);
      tokens.push({ kind: c === "'" ? "string" : "ident", text: src.slice(start, end + 1), value: src.slice(start + 1, end), quote: c, pos: start });
      i = end + 1;
      continue;
    }
    if (c === "(") {
      tokens.push({ kind: "lparen", text: c, pos: start });
      i++;
      continue;
    }
    if (c === ")") {
      tokens.push({ kind: "rparen", text: c, pos: start });
      i++;
      continue;
    }
    if (c === ",") {
      tokens.push({ kind: "comma", text: c, pos: start });
      i++;
      continue;
    }
    const op = /^(>=|<=|!=|<>|==|=|>|<)/.exec(src.slice(i));
    if (op) {
      // A run of operator characters that is not a single operator (">>", "=<") is named whole.
      const run = /^[<>=!]+/.exec(src.slice(i))![0];
      tokens.push({ kind: "op", text: run, pos: start });
      i += run.length;
      continue;
    }
    const num = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?(?![\w.])/.exec(src.slice(i));
    if (num) {
      tokens.push({ kind: "number", text: num[0], pos: start });
      i += num[0].length;
      continue;
    }
    const word = /^[\w.]+/.exec(src.slice(i));
    if (word) {
      tokens.push({ kind: "ident", text: word[0], pos: start });
      i += word[0].length;
      continue;
    }
    fail(src, `unexpected character '${c}' at position ${start}`);
  }
  tokens.push({ kind: "end", text: "<end of filter>", pos: src.length });
  return tokens;
}

class Parser {
  private i = 0;
  constructor(
    private readonly src: string,
    private readonly tokens: Token[],
    private readonly dialect: FilterDialect,
  ) {}

  peek(offset = 0): Token {
    return this.tokens[Math.min(this.i + offset, this.tokens.length - 1)];
  }
  next(): Token {
    return this.tokens[this.i++] ?? this.tokens[this.tokens.length - 1];
  }
  atEnd(): boolean {
    return this.peek().kind === "end";
  }
  unexpected(t: Token, expected: string): never {
    fail(this.src, `expected ${expected} but found '${t.text}' at position ${t.pos}`);
  }

  /**
   * identifier: either `entity.key` in one word token (metrics.acc, tags.mlflow.runName), or a
   * word ending in "." followed by a quoted key (metrics."a b"), or a quoted/backticked entity.
   */
  identifier(): { type: EntityType; key: string } {
    const t = this.next();
    if (t.kind !== "ident") this.unexpected(t, "an identifier such as metrics.accuracy, params.x, tags.x or attributes.status");
    let entity: string;
    let key: string | undefined;
    if (t.quote) {
      // `metrics`.x or a bare quoted attribute name ("run name")
      const after = this.peek();
      if (after.kind === "ident" && !after.quote && after.text.startsWith(".") && after.pos === t.pos + t.text.length) {
        this.next();
        entity = t.value!;
        key = after.text.slice(1);
      } else {
        return this.resolve("attribute", t.value!, t);
      }
    } else {
      const dot = t.text.indexOf(".");
      if (dot < 0) return this.resolve("attribute", t.text, t);
      entity = t.text.slice(0, dot);
      key = t.text.slice(dot + 1);
    }
    if (key === "") {
      const q = this.peek();
      if (q.kind === "ident" && q.quote && q.pos === t.pos + t.text.length) {
        this.next();
        key = q.value!;
      } else if (q.kind === "string" && q.pos === t.pos + t.text.length) {
        this.next();
        key = q.value!;
      } else {
        fail(this.src, `identifier '${t.text}' has no key after '.' at position ${t.pos}`);
      }
    }
    const type = ENTITY_ALIASES[entity.replace(/^`|`$/g, "")];
    if (!type) {
      fail(this.src, `invalid entity type '${entity}' at position ${t.pos}. Valid values are ['metric', 'parameter', 'tag', 'attribute', 'dataset']`);
    }
    return this.resolve(type, key, t);
  }

  private resolve(type: EntityType, key: string, t: Token): { type: EntityType; key: string } {
    if (!this.dialect.entities.includes(type)) fail(this.src, `'${t.text}' at position ${t.pos}: ${type} keys cannot be used to search ${this.dialect.what}`);
    if (type === "attribute") {
      const k = this.dialect.attributeAliases?.[key] ?? key;
      const valid = [...this.dialect.numericAttributes, ...this.dialect.stringAttributes];
      if (!valid.includes(k)) fail(this.src, `invalid attribute key '${key}' at position ${t.pos}. Valid keys are ${valid.map((v) => `'${v}'`).join(", ")}`);
      return { type, key: k };
    }
    if (type === "dataset" && !["name", "digest", "context"].includes(key)) {
      fail(this.src, `invalid dataset key '${key}' at position ${t.pos}. Valid keys are 'name', 'digest', 'context'`);
    }
    return { type, key };
  }

  comparator(type: EntityType, key: string): Comparator {
    const t = this.next();
    let comp: string;
    if (t.kind === "op") comp = t.text === "==" ? "=" : t.text === "<>" ? "!=" : t.text;
    else if (t.kind === "ident" && !t.quote) {
      comp = t.text.toUpperCase();
      if (comp === "NOT") {
        const n = this.next();
        if (n.kind !== "ident" || n.text.toUpperCase() !== "IN") this.unexpected(n, "IN after NOT");
        comp = "NOT IN";
      }
    } else this.unexpected(t, "a comparator (=, !=, >, >=, <, <=, LIKE, ILIKE, IN)");
    const allowed = this.allowedComparators(type, key);
    if (!allowed.includes(comp as Comparator)) {
      fail(this.src, `invalid comparator '${t.text}' at position ${t.pos} for ${type} '${key}'; use one of ${allowed.join(", ")}`);
    }
    return comp as Comparator;
  }

  allowedComparators(type: EntityType, key: string): readonly Comparator[] {
    if (type === "metric") return NUMERIC_COMPARATORS;
    if (type === "parameter" || type === "tag") return STRING_COMPARATORS;
    if (type === "dataset") return STRING_LIST_COMPARATORS;
    if (this.dialect.numericAttributes.includes(key)) return NUMERIC_COMPARATORS;
    if (this.dialect.listAttributes.includes(key)) return STRING_LIST_COMPARATORS;
    return STRING_COMPARATORS;
  }

  value(type: EntityType, key: string, comparator: Comparator): number | string | string[] {
    const t = this.next();
    if (comparator === "IN" || comparator === "NOT IN") {
      if (t.kind !== "lparen") this.unexpected(t, "a parenthesised list of quoted strings after IN");
      const items: string[] = [];
      for (;;) {
        const v = this.next();
        if (v.kind !== "string" && !(v.kind === "ident" && v.quote === '"')) this.unexpected(v, "a quoted string in the IN list");
        items.push(v.value!);
        const sep = this.next();
        if (sep.kind === "rparen") break;
        if (sep.kind !== "comma") this.unexpected(sep, "',' or ')'");
      }
      return items;
    }
    const numeric = type === "metric" || (type === "attribute" && this.dialect.numericAttributes.includes(key));
    if (numeric) {
      if (t.kind !== "number") fail(this.src, `expected a numeric value for ${type} '${key}' but found '${t.text}' at position ${t.pos}`);
      return Number(t.text);
    }
    if (t.kind === "string" || (t.kind === "ident" && t.quote === '"')) return t.value!;
    fail(this.src, `expected a quoted string value for ${type} '${key}' (e.g. 'my-value') but found '${t.text}' at position ${t.pos}`);
  }
}

export function parseSearchFilter(filter: string | undefined, dialect: FilterDialect): FilterClause[] {
  if (filter === undefined || filter.trim() === "") return [];
  const p = new Parser(filter, tokenize(filter), dialect);
  const clauses: FilterClause[] = [];
  for (;;) {
    const { type, key } = p.identifier();
    const comparator = p.comparator(type, key);
    const value = p.value(type, key, comparator);
    clauses.push({ type, key, comparator, value });
    if (p.atEnd()) return clauses;
    const t = p.next();
    if (t.kind === "ident" && t.text.toUpperCase() === "OR") fail(filter, `'OR' at position ${t.pos} is not supported; clauses can only be joined by AND`);
    if (t.kind !== "ident" || t.text.toUpperCase() !== "AND") p.unexpected(t, "AND or the end of the filter");
  }
}

/** One `order_by` entry: `<identifier> [ASC|DESC]`, e.g. "metrics.accuracy DESC", "params.`lr` ASC". */
export function parseOrderBy(clause: string, dialect: FilterDialect): OrderByClause {
  const tokens = tokenize(clause);
  const p = new Parser(clause, tokens, { ...dialect, numericAttributes: [...dialect.numericAttributes, ...dialect.orderAttributes] });
  let ident: { type: EntityType; key: string };
  try {
    ident = p.identifier();
  } catch (err) {
    throw new InvalidParameterError(`Invalid order_by clause '${clause}'. ${(err as Error).message.replace(/^Invalid filter '[^']*': /, "")}`);
  }
  if (ident.type === "attribute" && !dialect.orderAttributes.includes(ident.key)) {
    throw new InvalidParameterError(
      `Invalid order_by clause '${clause}': attribute '${ident.key}' cannot be ordered by. Valid keys are ${dialect.orderAttributes.join(", ")}`,
    );
  }
  if (ident.type === "dataset") throw new InvalidParameterError(`Invalid order_by clause '${clause}': datasets cannot be ordered by`);
  let ascending = true;
  const dir = p.next();
  if (dir.kind === "ident" && !dir.quote && /^(ASC|DESC)$/i.test(dir.text)) {
    ascending = dir.text.toUpperCase() === "ASC";
    const rest = p.next();
    if (rest.kind !== "end") throw new InvalidParameterError(`Invalid order_by clause '${clause}': unexpected '${rest.text}' at position ${rest.pos}`);
  } else if (dir.kind !== "end") {
    throw new InvalidParameterError(`Invalid order_by clause '${clause}': expected ASC or DESC but found '${dir.text}' at position ${dir.pos}`);
  }
  return { ...ident, ascending };
}
