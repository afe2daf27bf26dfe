// The shared lexer in both dialects. The PostgreSQL dialect's full table lives with its first user
// (packages/pg/test/sql-sanitizer.test.ts, unchanged since the move); here: the MySQL dialect, the
// summary, hostile input, and the properties for both dialects.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { analyzeSql, querySummary, SQL_SCAN_LIMIT, type SqlDialect, sanitizeSql } from '../src/index.js';

const my = (sql: string, max?: number): string => sanitizeSql(sql, max, 'mysql');

describe('sanitizeSql, MySQL dialect', () => {
  it.each([
    [
      "SELECT * FROM users WHERE email='a@b.c' AND ssn=123456789",
      'SELECT * FROM users WHERE email=? AND ssn=?',
    ],
    // "..." is a string in MySQL (an identifier only under ANSI_QUOTES: masking it is safe).
    ['SELECT * FROM t WHERE name = "bob"', 'SELECT * FROM t WHERE name = ?'],
    ['SELECT \'it\'\'s\', "say ""hi"""', 'SELECT ?, ?'],
    // `backtick` identifiers are code, kept as written (doubled backticks included).
    ['SELECT `select`, `we``ird` FROM `db`.`t`', 'SELECT `select`, `we``ird` FROM `db`.`t`'],
    // # comments and -- comments; /* */ comments, executable and hint comments.
    ["SELECT 1 # secret 'x'\nFROM t", 'SELECT ? FROM t'],
    ["SELECT 1 -- secret 'x'\nFROM t", 'SELECT ? FROM t'],
    ["SELECT /*+ MAX_EXECUTION_TIME(1) */ a /*!50000 , 'exec' */ FROM t", 'SELECT a FROM t'],
    // Not nested in MySQL: the comment ends at the first */, then the literal is masked.
    ["SELECT /* a /* b */ 'lit' AS x", 'SELECT ? AS x'],
    // Hex, bit, national and introduced literals; numbers.
    [
      "SELECT X'4D', x'ff', B'01', b'1', N'nat', n'nat', _utf8mb4'abc', _latin1 'x'",
      'SELECT ?, ?, ?, ?, ?, ?, _utf8mb4?, _latin1 ?',
    ],
    ['SELECT 0x1F, 0b101, 1.5e-3, .5, 42', 'SELECT ?, ?, ?, ?, ?'],
    // ? and :named placeholders are code.
    ['SELECT * FROM t WHERE a = ? AND b = :name', 'SELECT * FROM t WHERE a = ? AND b = :name'],
    // $ is an identifier character in MySQL (no dollar quoting).
    ['SELECT $a, a$b FROM t$1', 'SELECT $a, a$b FROM t$1'],
    ["SELECT @v := 'x', @@session.sql_mode, @'quoted'", 'SELECT @v := ?, @@session.sql_mode, @?'],
    // Multi-statements: every statement sanitized.
    [
      "INSERT INTO t VALUES ('a'); SELECT \"b\"; UPDATE t SET c = 'd'",
      'INSERT INTO t VALUES (?); SELECT ?; UPDATE t SET c = ?',
    ],
    // Backslash escapes that both readings (NO_BACKSLASH_ESCAPES on/off) end at the same quote.
    ["SELECT 'C:\\\\dir' FROM t", 'SELECT ? FROM t'],
    ["SELECT 'a\\nb' FROM t", 'SELECT ? FROM t'],
  ])('%j -> %j', (input, expected) => {
    expect(my(input)).toBe(expected);
  });

  it.each([
    ["SELECT 'abc FROM t WHERE x = 1", 'SELECT ?'],
    ['SELECT "abc FROM t', 'SELECT ?'],
    ['SELECT `unterminated FROM t', 'SELECT ?'],
    // The end of 'abc\' depends on NO_BACKSLASH_ESCAPES: masked from there on.
    ["SELECT 'abc\\' , secret_value, '", 'SELECT ?'],
    ['SELECT "abc\\" , secret_value, "', 'SELECT ?'],
    ["SELECT 'it\\'s' AS a, 'secret' AS b", 'SELECT ?'],
    ["SELECT 1 /* 'secret'", 'SELECT ?'],
  ])('unparseable %j is masked from that point on: %j', (input, expected) => {
    expect(my(input)).toBe(expected);
  });

  it('1 MB statements: scanned up to the limit, a literal cut by it masked with the rest, output capped', () => {
    const big = 'x'.repeat(1024 * 1024);
    expect(my(`SELECT '${big}', secret_column FROM t`)).toBe('SELECT ?');
    expect(my(`SELECT "${'y'.repeat(SQL_SCAN_LIMIT)}" AS a, leaked FROM t`)).toBe('SELECT ?');
    expect(my(`SELECT 1 # ${big}\n, after FROM t`)).toBe('SELECT ?');
    expect(my(`SELECT \`${big}\` FROM t`)).toBe('SELECT ?');
    const wide = `SELECT ${Array.from({ length: 60_000 }, (_, i) => `c${i}`).join(', ')} FROM t`;
    expect(my(wide)).toHaveLength(2048);
    expect(my(wide, 10)).toBe('SELECT c0,');
  });

  it('never throws on odd input', () => {
    expect(my('')).toBe('');
    expect(sanitizeSql(undefined as unknown as string, 10, 'mysql')).toBe('');
    expect(my('\u0000\uffff\ud800')).toBe('\u0000\uffff\ud800');
    expect(sanitizeSql('SELECT 1', Number.NaN, 'nope' as SqlDialect)).toBe('SELECT ?');
  });
});

describe('analyzeSql: operation, collection, summary', () => {
  it.each([
    ['SELECT * FROM users WHERE id = 1', 'SELECT', 'users'],
    ['SELECT * FROM `shop`.`users` u', 'SELECT', '`shop`.`users`'],
    ['INSERT IGNORE INTO orders (a) VALUES (?)', 'INSERT', 'orders'],
    ['REPLACE INTO kv (k, v) VALUES (?, ?)', 'REPLACE', 'kv'],
    ['UPDATE LOW_PRIORITY IGNORE accounts SET x = 1', 'UPDATE', 'accounts'],
    ['DELETE QUICK FROM s.t WHERE id = ?', 'DELETE', 's.t'],
    ['CREATE TEMPORARY TABLE IF NOT EXISTS tmp1 (id INT)', 'CREATE', 'tmp1'],
    ['TRUNCATE TABLE items', 'TRUNCATE', 'items'],
    ['START TRANSACTION', 'START', undefined],
    ['SHOW TABLES', 'SHOW', undefined],
    ['DESCRIBE users', 'DESCRIBE', undefined],
    ['USE shop', 'USE', undefined],
    ['# c\n/* c */ commit', 'COMMIT', undefined],
    ['frobnicate the thing', undefined, undefined],
  ])('mysql %j -> %s %s', (sql, operation, collection) => {
    const a = analyzeSql(sql, true, 2048, 'mysql');
    expect([a.operation, a.collection]).toEqual([operation, collection]);
    expect(a.summary).toBe(querySummary(operation, collection));
    const raw = analyzeSql(sql, false, 2048, 'mysql');
    expect([raw.operation, raw.collection, raw.summary]).toEqual([operation, collection, a.summary]);
    expect(raw.text).toBe(sql);
  });

  it('the summary is `{operation} {collection}`, the operation alone, or nothing', () => {
    expect(analyzeSql('SELECT a FROM users', true, 2048).summary).toBe('SELECT users');
    expect(analyzeSql('BEGIN', true, 2048).summary).toBe('BEGIN');
    expect(analyzeSql('(SELECT 1)', true, 2048).summary).toBeUndefined();
    // Dialect-specific keywords stay in their dialect.
    expect(analyzeSql('REPLACE INTO kv VALUES (1)', true, 2048, 'postgresql').operation).toBeUndefined();
    expect(analyzeSql('REPLACE INTO kv VALUES (1)', true, 2048, 'mysql').summary).toBe('REPLACE kv');
  });
});

// Properties: whatever literals a statement holds, and however they are written in the dialect,
// their content never reaches the output. The content carries a marker no keyword or identifier of
// the generator has.
const MARK = 'Zq';
const content = fc
  .string({ unit: fc.constantFrom(...'ab\'\\$"`*/-#\n 0x_éZ;()?'.split('')), maxLength: 16 })
  .map((s) => `${MARK}${s}`);
const mysqlLiteral = fc.oneof(
  content.map((c) => `'${c.replaceAll("'", "''")}'`),
  content.map((c) => `"${c.replaceAll('"', '""')}"`),
  // Backslash-escaped (valid without NO_BACKSLASH_ESCAPES).
  content.map((c) => `'${c.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`),
  content.map((c) => `"${c.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`),
  content.map((c) => `N'${c.replaceAll("'", "''")}'`),
  content.map((c) => `_utf8mb4'${c.replaceAll("'", "''")}'`),
  fc.constantFrom("X'5A71'", "x'5a71'", "B'1010'", '0x5A71', '42', '3.14', '1e-3'),
);
const mysqlCode = fc.constantFrom(
  'SELECT',
  'a',
  'users',
  'FROM',
  'WHERE',
  '=',
  ',',
  '(',
  ')',
  '?',
  '`Quoted`',
  '# comment\n',
  '-- comment\n',
  '/* c */',
  '/*!50000 x */',
  ';',
  'AND',
  ' ',
  '\n',
);
const mysqlStatement = fc
  .array(fc.oneof(mysqlCode, mysqlLiteral), { minLength: 1, maxLength: 30 })
  .map((parts) => parts.join(' '));

describe('properties', () => {
  it('MySQL: literal content never reaches the output', () => {
    fc.assert(
      fc.property(mysqlStatement, (sql) => {
        expect(my(sql)).not.toContain(MARK);
      }),
      { numRuns: 2000 },
    );
  });

  it('MySQL: the same holds when literals are glued to punctuation', () => {
    const glued = fc
      .tuple(fc.constantFrom(',', '(', '=', '+', '\n', ';'), mysqlLiteral)
      .map(([p, l]) => `${p}${l}`);
    fc.assert(
      fc.property(fc.array(fc.oneof(mysqlCode, glued), { minLength: 1, maxLength: 20 }), (parts) => {
        expect(my(parts.join(''))).not.toContain(MARK);
      }),
      { numRuns: 2000 },
    );
  });

  it.each(['mysql', 'postgresql'] as const)(
    '%s: never throws and stays within the cap on arbitrary text',
    (d) => {
      fc.assert(
        fc.property(fc.string({ maxLength: 400 }), fc.integer({ min: 1, max: 300 }), (sql, max) => {
          const out = sanitizeSql(sql, max, d);
          expect(out.length).toBeLessThanOrEqual(max);
        }),
        { numRuns: 2000 },
      );
    },
  );

  // Quoted identifiers may hold quotes (and are kept): the units leave out the dialect's
  // identifier quote (" in PostgreSQL, ` in MySQL).
  it.each([
    ['mysql', 'a\'"$E\\ 1-#/*;'],
    ['postgresql', "a'$E\\ 1-#/*;`"],
  ] as const)('%s: never outputs a quote that opens a string literal', (d, units) => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...units.split('')), maxLength: 60 }), (sql) => {
        const out = sanitizeSql(sql, 2048, d);
        expect(out).not.toContain("'");
        if (d === 'mysql') expect(out).not.toContain('"');
      }),
      { numRuns: 3000 },
    );
  });
});
