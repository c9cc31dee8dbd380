import { InvalidParameterError } from "../../../util/errors.js";
import type { FilterClause, OrderByClause } from "../../search-filter.js";
import type { Page, ViewType } from "../../types.js";
import { createPageToken } from "../../validation.js";
import type { SqlDialect } from "./dialect.js";

/**
 * Search filter and order_by → SQL, shared by every SQL backend. Every value and every key
 * from a request is a bound parameter; every column name comes from an allow-list here (a
 * key the list does not know is refused, never spliced into SQL).
 */
export class SearchSql {
  readonly args: unknown[] = [];
  readonly joins: string[] = [];
  readonly where: string[] = [];
  readonly order: string[] = [];

  constructor(readonly dialect: SqlDialect) {}

  bind(value: unknown): string {
    this.args.push(value);
    return "?";
  }

  /** `column <op> ?` with LIKE kept case-sensitive and ILIKE comparing case-insensitively. */
  condition(column: string, c: FilterClause): string {
    switch (c.comparator) {
      case "ILIKE":
        this.args.push(c.value);
        return this.dialect.ilike(column);
      case "IN":
      case "NOT IN":
        this.args.push(this.dialect.listArg(c.value as string[]));
        return this.dialect.inList(column, c.comparator === "NOT IN");
      default:
        this.args.push(c.value);
        return `${column} ${c.comparator} ?`;
    }
  }

  /** `EXISTS` over a key/value child table (`x`), keyed on a bound key. */
  exists(table: string, joinOn: string, c: FilterClause): string {
    this.args.push(c.key);
    return `EXISTS (SELECT 1 FROM ${table} x WHERE ${joinOn} AND x.key = ? AND ${this.condition("x.value", c)})`;
  }

  /**
   * Orders by a key/value child table through `LEFT JOIN … AND key = ?` (the key bound).
   * MLflow's order (sqlalchemy_store `_get_orderby_clauses`): present values first, then, for
   * metrics, NaN, then missing — whatever the direction — and by value within the present ones.
   */
  orderByChild(table: string, joinOn: (alias: string) => string, key: string, ascending: boolean, nanColumn?: string): void {
    const alias = `o${this.joins.length}`;
    this.joins.push(`LEFT JOIN ${table} ${alias} ON ${joinOn(alias)} AND ${alias}.key = ?`);
    this.args.push(key);
    const missing = nanColumn
      ? `CASE WHEN ${alias}.${nanColumn} = 1 THEN 1 WHEN ${alias}.value IS NULL THEN 2 ELSE 0 END`
      : `CASE WHEN ${alias}.value IS NULL THEN 1 ELSE 0 END`;
    this.order.push(`${missing} ASC`, `${alias}.value ${ascending ? "ASC" : "DESC"}`);
  }

  /**
   * Orders by a child-table value that the filter also constrains: every run the filter keeps
   * has the row, with `present` true (metrics: `is_nan = 0`) and every one of `conditions`
   * holding, so the row is INNER JOINed once with all of them and the missing/NaN sort key
   * (constant there) is left out. Same rows in the same order as `orderByChild` plus one
   * EXISTS per condition, but the database can walk an index on (key, value) in order and stop
   * at the page instead of joining and sorting every run of the experiments.
   */
  orderByFilteredChild(
    table: string,
    joinOn: (alias: string) => string,
    key: string,
    ascending: boolean,
    present: (alias: string) => string,
    conditions: readonly FilterClause[],
  ): void {
    const alias = `o${this.joins.length}`;
    this.args.push(key);
    const on = [`${joinOn(alias)}`, `${alias}.key = ?`, present(alias), ...conditions.map((c) => this.condition(`${alias}.value`, c))];
    this.joins.push(`JOIN ${table} ${alias} ON ${on.join(" AND ")}`);
    this.order.push(`${alias}.value ${ascending ? "ASC" : "DESC"}`);
  }

  orderByColumn(column: string, ascending: boolean, nullsLast = false): void {
    if (nullsLast) this.order.push(`(${column} IS NULL) ASC`);
    this.order.push(`${column} ${ascending ? "ASC" : "DESC"}`);
  }

  /** `SELECT <columns> FROM <from> <joins> WHERE … ORDER BY … LIMIT ? OFFSET ?` and its arguments in order. */
  select(columns: string, from: string, limit: number, offset: number): { sql: string; args: unknown[] } {
    // JOINs come before WHERE in the SQL text, so their arguments were collected first:
    // callers add ORDER BY joins before WHERE conditions (see the stores).
    const where = this.where.length > 0 ? this.where.join(" AND ") : "1 = 1";
    const sql = `SELECT ${columns} FROM ${from} ${this.joins.join(" ")} WHERE ${where} ORDER BY ${this.order.join(", ")} ${this.dialect.limitOffset}`;
    return { sql, args: [...this.args, limit, offset] };
  }
}

/** The allow-listed column for an attribute key, or a clear error. */
export function columnFor(columns: Readonly<Record<string, string>>, key: string, what: string): string {
  const column = Object.prototype.hasOwnProperty.call(columns, key) ? columns[key] : undefined;
  if (column === undefined) throw new InvalidParameterError(`Invalid attribute key '${key}' for ${what}. Valid keys are ${Object.keys(columns).join(", ")}`);
  return column;
}

export function lifecycleCondition(column: string, viewType: ViewType | undefined): string {
  switch (viewType ?? "ACTIVE_ONLY") {
    case "ACTIVE_ONLY":
      return `${column} = 'active'`;
    case "DELETED_ONLY":
      return `${column} = 'deleted'`;
    case "ALL":
      return "1 = 1";
    default:
      throw new InvalidParameterError(`view_type must be one of 'ACTIVE_ONLY', 'DELETED_ONLY', 'ALL', got '${String(viewType)}'`);
  }
}

/** Rows were fetched with `LIMIT maxResults + 1`: one more than a page means there is a next page. */
export function page<T>(rows: T[], maxResults: number, offset: number): Page<T> {
  if (rows.length > maxResults) return { items: rows.slice(0, maxResults), next_page_token: createPageToken(offset + maxResults) };
  return { items: rows };
}

export type { FilterClause, OrderByClause };
