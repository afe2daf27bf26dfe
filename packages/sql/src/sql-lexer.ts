// A single-pass SQL lexer that turns query text into what may be recorded as `db.query.text`
// (semantic-conventions docs/db/database-spans.md, "Sanitization of db.query.text": every literal
// becomes `?`), and finds the operation, the first collection name and the query summary on the
// way. Written for tracewire from the lexical rules of each dialect: PostgreSQL (docs: "Lexical
// Structure", sql-syntax-lexical.html) and MySQL/MariaDB (reference manual: "String Literals",
// "Hexadecimal Literals", "Bit-Value Literals", "Schema Object Names", "Comments"). It is not a
// parser and never needs to be one: it only has to know where literals start and end.
//
// Dialect differences handled:
// - PostgreSQL: "..." is an identifier; `$1` parameters; `$tag$...$tag$` dollar quotes; E'...'
//   (backslash escapes), U&'...'; nested /* */ comments.
// - MySQL: "..." is a string (unless ANSI_QUOTES, where it would be an identifier: masking it is
//   the safe reading); `backtick` identifiers; `#` comments; non-nested /* */ comments (including
//   /*! executable */ and /*+ hint */ comments, dropped like any other); backslash escapes in
//   strings unless NO_BACKSLASH_ESCAPES (a literal whose end depends on that mode is masked with
//   the rest, as for standard_conforming_strings); X'..', B'..', N'..', 0x/0b numbers; `$` is an
//   identifier character; `?` placeholders are code.
//
// Fail-closed rules:
// - anything it cannot tokenize with certainty (an unterminated literal or quoted identifier, a
//   stray `$`, a plain '...' literal whose end differs between standard_conforming_strings on and
//   off) becomes `?` and the rest of the text is dropped;
// - the input is scanned at most SQL_SCAN_LIMIT characters, the output is at most `maxLength`;
//   reaching either stops the scan (a literal cut by the scan limit is masked);
// - comments are dropped (they can carry anything, sqlcommenter tags included) and runs of
//   whitespace become one space.

/** Default cap of `db.query.text` (characters). */
export const DEFAULT_MAX_QUERY_TEXT_LENGTH = 2048;
/** Characters of query text scanned at most, whatever its size (a 5 MB statement stops here). */
export const SQL_SCAN_LIMIT = 65_536;

/** The SQL dialects the lexer knows. */
export type SqlDialect = 'postgresql' | 'mysql';

/** What {@link analyzeSql} found. */
export interface SqlAnalysis {
  /** The recordable text: sanitized (or, when not sanitizing, the raw text), capped. */
  text: string;
  /** `db.operation.name`: the first command keyword, upper-case, from a closed set. */
  operation: string | undefined;
  /** `db.collection.name`: the first table named after FROM/INTO/UPDATE/TABLE, as written. */
  collection: string | undefined;
  /**
   * `db.query.summary`: `{operation} {collection}` (or the operation alone), undefined when no
   * operation was found. Low cardinality by construction: a closed set of operations and names.
   */
  summary: string | undefined;
}

// Command keywords accepted as `db.operation.name` (a closed set keeps the attribute bounded).
const OPERATIONS: ReadonlySet<string> = new Set([
  'ABORT',
  'ALTER',
  'ANALYZE',
  'BEGIN',
  'CALL',
  'CHECKPOINT',
  'CLOSE',
  'CLUSTER',
  'COMMENT',
  'COMMIT',
  'COPY',
  'CREATE',
  'DEALLOCATE',
  'DECLARE',
  'DELETE',
  'DISCARD',
  'DO',
  'DROP',
  'END',
  'EXECUTE',
  'EXPLAIN',
  'FETCH',
  'GRANT',
  'IMPORT',
  'INSERT',
  'LISTEN',
  'LOAD',
  'LOCK',
  'MERGE',
  'MOVE',
  'NOTIFY',
  'PREPARE',
  'REASSIGN',
  'REFRESH',
  'REINDEX',
  'RELEASE',
  'RESET',
  'REVOKE',
  'ROLLBACK',
  'SAVEPOINT',
  'SECURITY',
  'SELECT',
  'SET',
  'SHOW',
  'START',
  'TABLE',
  'TRUNCATE',
  'UNLISTEN',
  'UPDATE',
  'VACUUM',
  'VALUES',
]);

// MySQL/MariaDB statements beyond the shared set.
const MYSQL_OPERATIONS: ReadonlySet<string> = new Set([
  ...OPERATIONS,
  'CHECKSUM',
  'DESC',
  'DESCRIBE',
  'FLUSH',
  'HANDLER',
  'KILL',
  'OPTIMIZE',
  'RENAME',
  'REPAIR',
  'REPLACE',
  'UNLOCK',
  'USE',
  'XA',
]);
/** MySQL modifiers between UPDATE/TRUNCATE and the table name. */
const MYSQL_NOISE: ReadonlySet<string> = new Set(['LOW_PRIORITY', 'IGNORE']);

/** Statements a `WITH` clause can lead to. */
const WITH_TARGETS: ReadonlySet<string> = new Set(['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'MERGE']);
/** Words that may sit between CREATE/DROP/ALTER and TABLE, or between TABLE and the name. */
const DDL_NOISE: ReadonlySet<string> = new Set([
  'GLOBAL',
  'LOCAL',
  'TEMP',
  'TEMPORARY',
  'UNLOGGED',
  'IF',
  'NOT',
  'EXISTS',
  'ONLY',
]);
const MAX_COLLECTION_LENGTH = 192; // three NAMEDATALEN-1 (63) parts plus dots

// Character classes (char codes).
const isSpace = (c: number): boolean => c === 32 || (c >= 9 && c <= 13);
const isDigit = (c: number): boolean => c >= 48 && c <= 57;
const isIdentStart = (c: number): boolean =>
  (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c >= 128;
const isIdentPart = (c: number): boolean => isIdentStart(c) || isDigit(c) || c === 36;
const QUOTE = 39; // '
const DQUOTE = 34; // "
const BACKTICK = 96; // `
const BACKSLASH = 92;

type TokenKind = 'word' | 'qident' | 'punct' | 'value';

/**
 * Finds operation and collection from the significant tokens. Token text is raw (words keep
 * their case); `upper` is only set for words.
 */
class Summary {
  readonly #mysql: boolean;
  operation: string | undefined;
  collection: string | undefined;
  done = false;
  #depth = 0;
  #first = true;
  #withClause = false;
  /** The word after which the collection name comes, or `'next'` for "the next name". */
  #expect: string | undefined;
  #ddl = false;
  #name: string[] | undefined;
  #afterDot = false;

  constructor(mysql: boolean) {
    this.#mysql = mysql;
  }

  feed(kind: TokenKind, raw: string, upper: string | undefined): void {
    if (this.done) return;
    if (this.#name !== undefined) {
      this.#continueName(kind, raw);
      return;
    }
    if (kind === 'punct') {
      if (raw === '(') this.#depth++;
      else if (raw === ')') this.#depth = Math.max(0, this.#depth - 1);
      else if (raw === ';' && this.#depth === 0) this.#finish();
      if (this.#first) this.#finish();
      if (this.#expect === 'next' && raw === '(') this.#finish();
      return;
    }
    if (this.#first) {
      this.#first = false;
      if (kind !== 'word' || upper === undefined) {
        this.#finish();
        return;
      }
      if (upper === 'WITH') {
        this.#withClause = true;
        return;
      }
      if (!(this.#mysql ? MYSQL_OPERATIONS : OPERATIONS).has(upper)) {
        this.#finish();
        return;
      }
      this.#start(upper);
      return;
    }
    if (this.#depth > 0) return;
    if (this.#withClause) {
      if (kind === 'word' && upper !== undefined && WITH_TARGETS.has(upper)) {
        this.#withClause = false;
        this.#start(upper);
      }
      return;
    }
    const expect = this.#expect;
    if (expect === undefined) return;
    if (expect === 'next') {
      if (
        kind === 'word' &&
        upper !== undefined &&
        (upper === 'ONLY' ||
          (this.#ddl && (upper === 'TABLE' || DDL_NOISE.has(upper))) ||
          (this.#mysql && MYSQL_NOISE.has(upper)))
      )
        return;
      if (kind === 'word' || kind === 'qident') {
        this.#name = [raw];
        this.#afterDot = false;
        return;
      }
      this.#finish();
      return;
    }
    if (kind === 'word' && upper === expect) {
      this.#expect = 'next';
      return;
    }
    // CREATE/DROP/ALTER: only TABLE statements name a collection.
    if (this.#ddl && kind === 'word' && upper !== undefined && !DDL_NOISE.has(upper)) this.#finish();
  }

  /** End of input. */
  end(): void {
    if (this.#name !== undefined) this.#commitName();
    this.done = true;
  }

  #start(operation: string): void {
    this.operation = operation;
    switch (operation) {
      case 'SELECT':
      case 'DELETE':
        this.#expect = 'FROM';
        break;
      case 'INSERT':
      case 'MERGE':
      case 'REPLACE':
        this.#expect = 'INTO';
        break;
      case 'UPDATE':
      case 'COPY':
      case 'TABLE':
        this.#expect = 'next';
        break;
      case 'TRUNCATE':
        this.#expect = 'next';
        this.#ddl = true;
        break;
      case 'CREATE':
      case 'DROP':
      case 'ALTER':
        this.#expect = 'TABLE';
        this.#ddl = true;
        break;
      default:
        this.#finish();
    }
  }

  #continueName(kind: TokenKind, raw: string): void {
    const name = this.#name as string[];
    if (!this.#afterDot && kind === 'punct' && raw === '.' && name.length < 3) {
      this.#afterDot = true;
      return;
    }
    if (this.#afterDot && (kind === 'word' || kind === 'qident')) {
      name.push(raw);
      this.#afterDot = false;
      return;
    }
    this.#commitName();
  }

  #commitName(): void {
    const name = this.#name as string[];
    this.#name = undefined;
    const joined = name.join('.');
    if (!this.#afterDot && joined.length <= MAX_COLLECTION_LENGTH) this.collection = joined;
    this.#finish();
  }

  #finish(): void {
    this.#expect = undefined;
    this.done = true;
  }
}

/**
 * Lexes `sql` once, in the given dialect. With `sanitize`, `text` has every literal replaced by
 * `?` (comments dropped, whitespace collapsed); without it, `text` is the input capped to
 * `maxLength` and the scan stops as soon as operation and collection are known. Never throws for
 * a string input.
 *
 * @example
 * analyzeSql("SELECT * FROM users WHERE email='a@b.c'", true, 2048);
 * // { text: 'SELECT * FROM users WHERE email=?', operation: 'SELECT', collection: 'users',
 * //   summary: 'SELECT users' }
 * analyzeSql('SELECT * FROM `users` WHERE name = "bob" # note', true, 2048, 'mysql').text;
 * // 'SELECT * FROM `users` WHERE name = ?'
 */
export function analyzeSql(
  sql: string,
  sanitize: boolean,
  maxLength: number,
  dialect: SqlDialect = 'postgresql',
): SqlAnalysis {
  const mysql = dialect === 'mysql';
  const summary = new Summary(mysql);
  const limit = Math.min(sql.length, SQL_SCAN_LIMIT);
  let out = '';
  let full = !sanitize;
  const emit = (s: string): void => {
    if (full) return;
    out += s;
    if (out.length >= maxLength) {
      out = out.slice(0, maxLength);
      full = true;
    }
  };
  /** Emits the mask and stops: the rest of the text is not recorded. */
  let stopped = false;
  const maskRest = (): void => {
    if (pendingSpace && out.length > 0) emit(' ');
    emit('?');
    stopped = true;
  };
  let pendingSpace = false;
  const token = (kind: TokenKind, raw: string, emitted: string, upper?: string): void => {
    if (pendingSpace && out.length > 0) emit(' ');
    pendingSpace = false;
    emit(emitted);
    summary.feed(kind, raw, upper);
  };
  const identStart = (c: number): boolean => isIdentStart(c) || (mysql && c === 36);

  let i = 0;
  // A string literal from `i` up to `end` is recorded as `?`; a quoted identifier as written. An
  // unterminated one (`end` < 0) masks the rest, and the loop ends on `stopped`.
  const literalTo = (end: number): void => {
    if (end < 0) {
      maskRest();
      return;
    }
    token('value', '?', '?');
    i = end;
  };
  const quotedIdentifierTo = (end: number): void => {
    if (end < 0) {
      maskRest();
      return;
    }
    const raw = sql.slice(i, end);
    token('qident', raw, raw);
    i = end;
  };
  while (i < limit && !stopped && !(full && summary.done)) {
    const c = sql.charCodeAt(i);
    if (isSpace(c)) {
      i++;
      pendingSpace = true;
      continue;
    }
    // -- line comment (MySQL wants a space after `--`; reading every `--` as a comment only ever
    // drops more text), and MySQL's # line comment
    if ((c === 45 && sql.charCodeAt(i + 1) === 45) || (mysql && c === 35)) {
      i += c === 35 ? 1 : 2;
      while (i < limit) {
        const d = sql.charCodeAt(i);
        if (d === 10 || d === 13) break;
        i++;
      }
      pendingSpace = true;
      continue;
    }
    // /* block comment */: nested in PostgreSQL, not in MySQL (which ends it at the first */)
    if (c === 47 && sql.charCodeAt(i + 1) === 42) {
      let depth = 1;
      i += 2;
      while (i < limit && depth > 0) {
        const d = sql.charCodeAt(i);
        if (!mysql && d === 47 && sql.charCodeAt(i + 1) === 42) {
          depth++;
          i += 2;
        } else if (d === 42 && sql.charCodeAt(i + 1) === 47) {
          depth--;
          i += 2;
        } else i++;
      }
      if (depth > 0) break; // unterminated or cut: nothing after it is recorded
      pendingSpace = true;
      continue;
    }
    if (c === QUOTE) {
      literalTo(plainStringEnd(sql, i + 1, limit, QUOTE));
      continue;
    }
    if (c === DQUOTE) {
      if (mysql) literalTo(plainStringEnd(sql, i + 1, limit, DQUOTE));
      else quotedIdentifierTo(quotedEnd(sql, i + 1, limit, DQUOTE));
      continue;
    }
    if (mysql && c === BACKTICK) {
      quotedIdentifierTo(quotedEnd(sql, i + 1, limit, BACKTICK));
      continue;
    }
    if (isDigit(c) || (c === 46 && isDigit(sql.charCodeAt(i + 1)))) {
      i = numberEnd(sql, i, limit);
      token('value', '?', '?');
      continue;
    }
    if (!mysql && c === 36) {
      // $1 positional parameter
      if (isDigit(sql.charCodeAt(i + 1))) {
        let j = i + 1;
        while (j < limit && isDigit(sql.charCodeAt(j))) j++;
        const raw = sql.slice(i, j);
        token('value', raw, raw);
        i = j;
        continue;
      }
      literalTo(dollarStringEnd(sql, i, limit));
      continue;
    }
    if (identStart(c)) {
      let j = i + 1;
      while (j < limit && isIdentPart(sql.charCodeAt(j))) j++;
      const word = sql.slice(i, j);
      const next = sql.charCodeAt(j);
      if (j - i === 1 && next === QUOTE) {
        const prefix = c | 32; // lower-case
        // PostgreSQL: E'..' escape string, B'..' bit string, X'..' hex, N'..' national character.
        // MySQL: B'..', X'..', N'..' (a word before a quote, `_utf8mb4'..'`, is an introducer:
        // the literal after it is masked as any other).
        if (prefix === 98 || prefix === 120 || prefix === 110 || (!mysql && prefix === 101)) {
          literalTo(
            prefix === 101
              ? escapeStringEnd(sql, j + 1, limit, QUOTE)
              : plainStringEnd(sql, j + 1, limit, QUOTE),
          );
          continue;
        }
      }
      // U&'..' Unicode string (a literal) and U&".." Unicode identifier
      if (!mysql && j - i === 1 && (c | 32) === 117 && next === 38) {
        const q = sql.charCodeAt(j + 1);
        if (q === QUOTE) {
          literalTo(plainStringEnd(sql, j + 2, limit, QUOTE));
          continue;
        }
        if (q === DQUOTE) {
          quotedIdentifierTo(quotedEnd(sql, j + 2, limit, DQUOTE));
          continue;
        }
      }
      token('word', word, word, word.toUpperCase());
      i = j;
      continue;
    }
    // Operators and punctuation are code, copied one character at a time.
    const ch = sql[i] as string;
    token('punct', ch, ch);
    i++;
  }
  // Input left unscanned (scan limit, or output full while sanitizing) is simply not recorded.
  summary.end();
  if (!sanitize)
    return { text: sql.length > maxLength ? sql.slice(0, maxLength) : sql, ...summaryOf(summary) };
  return { text: out, ...summaryOf(summary) };
}

function summaryOf(s: Summary): Omit<SqlAnalysis, 'text'> {
  return {
    operation: s.operation,
    collection: s.collection,
    summary: querySummary(s.operation, s.collection),
  };
}

/**
 * `db.query.summary` from an operation and a collection (semantic-conventions
 * docs/db/database-spans.md, "Generating a summary of the query"): `SELECT users`, or `BEGIN`.
 *
 * @example
 * querySummary('SELECT', 'users'); // 'SELECT users'
 */
export function querySummary(
  operation: string | undefined,
  collection: string | undefined,
): string | undefined {
  if (operation === undefined) return undefined;
  return collection !== undefined ? `${operation} ${collection}` : operation;
}

/**
 * Sanitizes query text for `db.query.text`: every literal (strings in all their forms, PostgreSQL
 * dollar-quoted bodies, MySQL double-quoted strings, numbers) becomes `?`, comments are dropped,
 * whitespace is collapsed, and the result is at most `maxLength` characters. Anything the lexer
 * cannot read with certainty is masked from that point on. Never throws.
 *
 * @example
 * sanitizeSql("SELECT * FROM users WHERE email='a@b.c' AND ssn=123456789");
 * // 'SELECT * FROM users WHERE email=? AND ssn=?'
 * sanitizeSql("SELECT * FROM `t` WHERE a = 'x\\'y' AND b = ?", 2048, 'mysql');
 * // 'SELECT * FROM `t` WHERE a = ? AND b = ?'
 */
export function sanitizeSql(
  sql: string,
  maxLength: number = DEFAULT_MAX_QUERY_TEXT_LENGTH,
  dialect: SqlDialect = 'postgresql',
): string {
  if (typeof sql !== 'string') return '';
  const max = typeof maxLength === 'number' && maxLength > 0 ? maxLength : DEFAULT_MAX_QUERY_TEXT_LENGTH;
  return analyzeSql(sql, true, max, dialect === 'mysql' ? 'mysql' : 'postgresql').text;
}

/**
 * End (index after the closing quote) of a literal quoted with `quote` whose body starts at
 * `start`, or -1. With a backslash in the body, the end must be the same whether backslash is an
 * ordinary character (PostgreSQL standard_conforming_strings on, MySQL NO_BACKSLASH_ESCAPES) or
 * an escape: otherwise the text is ambiguous and -1.
 */
function plainStringEnd(sql: string, start: number, limit: number, quote: number): number {
  let i = start;
  let backslash = false;
  let end = -1;
  while (i < limit) {
    const c = sql.charCodeAt(i);
    if (c === quote) {
      if (sql.charCodeAt(i + 1) === quote && i + 1 < limit) {
        i += 2;
        continue;
      }
      end = i + 1;
      break;
    }
    if (c === BACKSLASH) backslash = true;
    i++;
  }
  if (end < 0 || !backslash) return end;
  return escapeStringEnd(sql, start, limit, quote) === end ? end : -1;
}

/** End of a body where backslash escapes the next character and a doubled quote is a quote, or -1. */
function escapeStringEnd(sql: string, start: number, limit: number, quote: number): number {
  let i = start;
  while (i < limit) {
    const c = sql.charCodeAt(i);
    if (c === BACKSLASH) {
      i += 2;
      continue;
    }
    if (c === quote) {
      if (sql.charCodeAt(i + 1) === quote && i + 1 < limit) {
        i += 2;
        continue;
      }
      return i + 1;
    }
    i++;
  }
  return -1;
}

/** End of a quoted identifier body (a doubled quote is a quote), or -1. */
function quotedEnd(sql: string, start: number, limit: number, quote: number): number {
  let i = start;
  while (i < limit) {
    if (sql.charCodeAt(i) === quote) {
      if (sql.charCodeAt(i + 1) === quote && i + 1 < limit) {
        i += 2;
        continue;
      }
      return i + 1;
    }
    i++;
  }
  return -1;
}

/** End of a numeric constant (decimal, 0x/0o/0b, underscores, exponent, trailing junk). */
function numberEnd(sql: string, start: number, limit: number): number {
  let i = start;
  while (i < limit) {
    const c = sql.charCodeAt(i);
    if (isDigit(c) || c === 95 || c === 46 || isIdentStart(c)) {
      // An exponent sign: 1e-5, 1E+5.
      if ((c | 32) === 101 && !isHexPrefixed(sql, start)) {
        const n = sql.charCodeAt(i + 1);
        if (n === 43 || n === 45) {
          i += 2;
          continue;
        }
      }
      // `1..10` (a range in some dialects) and `1.x`: the second dot ends the number.
      if (c === 46 && sql.charCodeAt(i + 1) === 46) break;
      i++;
      continue;
    }
    break;
  }
  return i;
}

function isHexPrefixed(sql: string, start: number): boolean {
  return sql.charCodeAt(start) === 48 && (sql.charCodeAt(start + 1) | 32) === 120;
}

/**
 * End of a dollar-quoted string starting at `start` (the first `$`), or -1 when the opening tag is
 * malformed or the closing tag is not within the scan limit.
 */
function dollarStringEnd(sql: string, start: number, limit: number): number {
  let j = start + 1;
  if (j < limit && sql.charCodeAt(j) !== 36) {
    if (!isIdentStart(sql.charCodeAt(j))) return -1;
    while (j < limit && sql.charCodeAt(j) !== 36) {
      const c = sql.charCodeAt(j);
      if (!isIdentPart(c) || c === 36) return -1;
      j++;
    }
  }
  if (j >= limit) return -1;
  const tag = sql.slice(start, j + 1);
  // Search only inside the scanned window: a slice is O(1) in V8 and bounds indexOf.
  const window = limit < sql.length ? sql.slice(0, limit) : sql;
  const close = window.indexOf(tag, j + 1);
  return close < 0 ? -1 : close + tag.length;
}
