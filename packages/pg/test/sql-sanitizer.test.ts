import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { analyzeSql, SQL_SCAN_LIMIT, sanitizeSql } from '../src/index.js';

describe('sanitizeSql', () => {
  it.each([
    // T46
    [
      "SELECT * FROM users WHERE email='a@b.c' AND ssn=123456789",
      'SELECT * FROM users WHERE email=? AND ssn=?',
    ],
    ["SELECT 'it''s' , x", 'SELECT ? , x'],
    ["SELECT E'a\\'b\\\\' AS x", 'SELECT ? AS x'],
    ["SELECT e'\\''", 'SELECT ?'],
    ["SELECT B'1010', b'01', X'1F', x'ff', N'nat'", 'SELECT ?, ?, ?, ?, ?'],
    ["SELECT U&'d\\0061t\\+000061' UESCAPE '!'", 'SELECT ? UESCAPE ?'],
    ['SELECT U&"d\\0061t" FROM t', 'SELECT U&"d\\0061t" FROM t'],
    ['SELECT $$secret$$, $tag$ has $$ inside $tag$', 'SELECT ?, ?'],
    ['SELECT $a$x$b$y$b$z$a$', 'SELECT ?'],
    ['SELECT 1, 1.5, .5, 1e10, 1.5E-3, 0x1F, 0o17, 0b101, 1_000_000', 'SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?'],
    ['SELECT -5, +3.2', 'SELECT -?, +?'],
    ['SELECT * FROM t1 WHERE id = $1 AND x = $12', 'SELECT * FROM t1 WHERE id = $1 AND x = $12'],
    ['SELECT "weird ""name""" FROM "T"', 'SELECT "weird ""name""" FROM "T"'],
    ['SELECT a$b, _x1 FROM t', 'SELECT a$b, _x1 FROM t'],
    ["SELECT 1 -- secret 'x'\nFROM t", 'SELECT ? FROM t'],
    ["SELECT /* a /* nested 'x' */ still comment */ 2", 'SELECT ?'],
    ['SELECT   a,\n\t b  FROM t', 'SELECT a, b FROM t'],
    ['SELECT x::int, y::text FROM t', 'SELECT x::int, y::text FROM t'],
    ["INSERT INTO t (a, b) VALUES ('x', 2), ('y', 3)", 'INSERT INTO t (a, b) VALUES (?, ?), (?, ?)'],
    ['SELECT 123abc', 'SELECT ?'],
  ])('%j -> %j', (input, expected) => {
    expect(sanitizeSql(input)).toBe(expected);
  });

  it.each([
    // unterminated literal: masked from there on
    ["SELECT 'abc FROM t WHERE x = 1", 'SELECT ?'],
    ["SELECT E'abc\\' FROM t", 'SELECT ?'],
    ['SELECT $tag$ never closed', 'SELECT ?'],
    ['SELECT "unterminated', 'SELECT ?'],
    // a stray `$` is not something the lexer knows: mask
    ['SELECT $ secret', 'SELECT ?'],
    ['SELECT $-x$ secret', 'SELECT ?'],
    // /* never closed: the comment swallows the rest
    ["SELECT 1 /* 'secret'", 'SELECT ?'],
  ])('unparseable %j is masked from that point on: %j', (input, expected) => {
    expect(sanitizeSql(input)).toBe(expected);
  });

  it('masks a literal whose end depends on standard_conforming_strings, and everything after it', () => {
    // on: 'abc\' ends at the second quote and ` secret ` would be code; off: the literal goes on.
    expect(sanitizeSql("SELECT 'abc\\' , secret_value, '")).toBe('SELECT ?');
    // Both readings agree: one literal.
    expect(sanitizeSql("SELECT 'C:\\\\dir' FROM t")).toBe('SELECT ? FROM t');
    expect(sanitizeSql("SELECT 'a\\b' FROM t")).toBe('SELECT ? FROM t');
  });

  it('caps the output', () => {
    const sql = `SELECT ${Array.from({ length: 2000 }, (_, i) => `col_${i}`).join(', ')} FROM t`;
    expect(sanitizeSql(sql)).toHaveLength(2048);
    expect(sanitizeSql(sql, 100)).toBe(sql.slice(0, 100));
  });

  it('stops at the scan limit on a 5 MB statement (and masks the cut literal)', () => {
    const big = 'x'.repeat(5 * 1024 * 1024);
    const sql = `SELECT '${big}', secret_column FROM t`;
    expect(sanitizeSql(sql)).toBe('SELECT ?');
    // Not scanned beyond the limit: a literal that closes after it is still masked with the rest.
    const closesLate = `SELECT '${'y'.repeat(SQL_SCAN_LIMIT)}' AS a, leaked FROM t`;
    expect(sanitizeSql(closesLate)).toBe('SELECT ?');
    const comment = `SELECT 1 /* ${big} */, after FROM t`;
    expect(sanitizeSql(comment)).toBe('SELECT ?');
    const dollar = `SELECT $q$${big}$q$, after`;
    expect(sanitizeSql(dollar)).toBe('SELECT ?');
    const spaces = `SELECT${' '.repeat(5 * 1024 * 1024)}after`;
    expect(sanitizeSql(spaces)).toBe('SELECT');
  });

  it('never throws on odd input', () => {
    expect(sanitizeSql('')).toBe('');
    expect(sanitizeSql(undefined as unknown as string)).toBe('');
    expect(sanitizeSql('\u0000\uffff\ud800')).toBe('\u0000\uffff\ud800');
  });
});

describe('analyzeSql: operation and collection', () => {
  it.each([
    ['SELECT * FROM users WHERE id = 1', 'SELECT', 'users'],
    ['select a from public.users u join b on true', 'SELECT', 'public.users'],
    ['SELECT a FROM "My Table"', 'SELECT', '"My Table"'],
    ['SELECT EXTRACT(YEAR FROM d) FROM events', 'SELECT', 'events'],
    ['SELECT a FROM (SELECT 1) s', 'SELECT', undefined],
    ['SELECT 1', 'SELECT', undefined],
    ['INSERT INTO orders (a) VALUES ($1)', 'INSERT', 'orders'],
    ['UPDATE ONLY accounts SET x = 1', 'UPDATE', 'accounts'],
    ['DELETE FROM s.t WHERE id = $1', 'DELETE', 's.t'],
    ['WITH x AS (SELECT * FROM a) SELECT * FROM x', 'SELECT', 'x'],
    ['WITH x AS (SELECT 1) INSERT INTO y SELECT * FROM x', 'INSERT', 'y'],
    ['CREATE TABLE IF NOT EXISTS items (id int)', 'CREATE', 'items'],
    ['CREATE TEMP TABLE tmp1 (id int)', 'CREATE', 'tmp1'],
    ['CREATE INDEX i ON t (a)', 'CREATE', undefined],
    ['DROP TABLE IF EXISTS items', 'DROP', 'items'],
    ['TRUNCATE TABLE items', 'TRUNCATE', 'items'],
    ['BEGIN', 'BEGIN', undefined],
    ['/* c */ -- x\n commit', 'COMMIT', undefined],
    ['(SELECT 1)', undefined, undefined],
    ['frobnicate the thing', undefined, undefined],
  ])('%j -> %s %s', (sql, operation, collection) => {
    const a = analyzeSql(sql, true, 2048);
    expect(a.operation).toBe(operation);
    expect(a.collection).toBe(collection);
    // Same facts without sanitizing.
    const raw = analyzeSql(sql, false, 2048);
    expect([raw.operation, raw.collection]).toEqual([operation, collection]);
    expect(raw.text).toBe(sql);
  });
});

// Property: whatever literals a statement holds, and however they are written, their content never
// reaches the output. The content carries a marker no identifier or keyword of the generator has.
const MARK = 'Zq';
const content = fc
  .string({ unit: fc.constantFrom(...'ab\'\\$"*/-\n 0x_éZ;()'.split('')), maxLength: 16 })
  .map((s) => `${MARK}${s}`);
const literal = fc.oneof(
  content.map((c) => `'${c.replaceAll("'", "''")}'`),
  content.map((c) => `E'${c.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`),
  content.map((c) => `e'${c.replaceAll("'", "''").replaceAll('\\', '\\\\')}'`),
  content.map((c) => `N'${c.replaceAll("'", "''")}'`),
  content.map((c) => `U&'${c.replaceAll("'", "''")}'`),
  content.map((c) => {
    let tag = '$t$';
    for (let i = 0; c.includes(tag) || `${c}$`.includes(tag); i++) tag = `$t${i}$`;
    return `${tag}${c}${tag}`;
  }),
  fc.constantFrom('$$Zq$$', "B'1010'", "X'ff'", '42', '3.14', '1e-3', '0x1F'),
);
const code = fc.constantFrom(
  'SELECT',
  'a',
  'users',
  'FROM',
  'WHERE',
  '=',
  ',',
  '(',
  ')',
  '$1',
  '::text',
  '"Quoted"',
  '-- comment\n',
  '/* c */',
  'AND',
  ' ',
  '\n',
);
const statement = fc
  .array(fc.oneof(code, literal), { minLength: 1, maxLength: 30 })
  .map((parts) => parts.join(' '));

describe('sanitizeSql properties', () => {
  it('never lets literal content through', () => {
    fc.assert(
      fc.property(statement, (sql) => {
        expect(sanitizeSql(sql)).not.toContain(MARK);
      }),
      { numRuns: 2000 },
    );
  });

  it('the same holds when parts are glued without spaces', () => {
    // `$` continues an identifier in PostgreSQL (`a$b`), so a literal glued to a word is not a
    // literal there either: literals are glued to punctuation instead.
    const glued = fc.tuple(fc.constantFrom(',', '(', '=', '+', '\n'), literal).map(([p, l]) => `${p}${l}`);
    fc.assert(
      fc.property(fc.array(fc.oneof(code, glued), { minLength: 1, maxLength: 20 }), (parts) => {
        expect(sanitizeSql(parts.join(''))).not.toContain(MARK);
      }),
      { numRuns: 2000 },
    );
  });

  it('never throws and stays within the cap on arbitrary text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 400 }), fc.integer({ min: 1, max: 300 }), (sql, max) => {
        const out = sanitizeSql(sql, max);
        expect(out.length).toBeLessThanOrEqual(max);
      }),
      { numRuns: 2000 },
    );
  });

  it('never outputs a quote character that opens a string literal', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(..."a'$E\\ 1-/*;".split('')), maxLength: 60 }), (sql) => {
        expect(sanitizeSql(sql)).not.toContain("'");
      }),
      { numRuns: 3000 },
    );
  });
});
