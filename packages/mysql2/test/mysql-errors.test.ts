// The MySQL error mapping as a pure function: the error shapes mysql2 produces (server errors from
// the ERR packet: errno/code/sqlState/sqlMessage; client errors: code/fatal), hostile values, and
// the "5xx bodies leak nothing" guarantee. The suite against the server (mysql2.test.ts) checks the
// same mapping on errors the real server and driver produced.

import { GrpcCode, toProblemDetails } from '@tracewire/errors';
import { describe, expect, it } from 'vitest';
import { mysqlErrorCode, mysqlErrorToTracedError } from '../src/index.js';

/** An error shaped the way mysql2's Packet.asError builds one. */
const serverError = (errno: number, code: string | undefined, sqlState: string, message: string) =>
  Object.assign(new Error(message), {
    errno,
    code,
    sqlState,
    sqlMessage: message,
    sql: "INSERT INTO users VALUES ('alice@example.com')",
  });
const clientError = (code: string, message: string, fatal = true) =>
  Object.assign(new Error(message), { code, fatal });

describe('mysqlErrorCode', () => {
  it.each([
    [
      serverError(1062, 'ER_DUP_ENTRY', '23000', "Duplicate entry 'a@b.c' for key 'email'"),
      GrpcCode.ALREADY_EXISTS,
      409,
      'conflict',
    ],
    [serverError(1213, 'ER_LOCK_DEADLOCK', '40001', 'Deadlock found'), GrpcCode.ABORTED, 409, 'conflict'],
    [
      serverError(1205, 'ER_LOCK_WAIT_TIMEOUT', 'HY000', 'Lock wait timeout exceeded'),
      GrpcCode.ABORTED,
      409,
      'conflict',
    ],
    [
      serverError(1969, undefined, '70100', 'max_statement_time exceeded'),
      GrpcCode.DEADLINE_EXCEEDED,
      504,
      'timeout',
    ],
    [
      serverError(3024, 'ER_QUERY_TIMEOUT', 'HY000', 'maximum statement execution time exceeded'),
      GrpcCode.DEADLINE_EXCEEDED,
      504,
      'timeout',
    ],
    [
      serverError(1040, 'ER_CON_COUNT_ERROR', '08004', 'Too many connections'),
      GrpcCode.UNAVAILABLE,
      503,
      'dependency',
    ],
    [serverError(1927, undefined, '70100', 'Connection was killed'), GrpcCode.UNAVAILABLE, 503, 'dependency'],
    [
      serverError(1290, 'ER_OPTION_PREVENTS_STATEMENT', 'HY000', '--read-only'),
      GrpcCode.UNAVAILABLE,
      503,
      'dependency',
    ],
    // By SQLSTATE class when the number is not listed.
    [serverError(1180, 'ER_ERROR_DURING_COMMIT', '40001', 'x'), GrpcCode.ABORTED, 409, 'conflict'],
    [serverError(9999, undefined, '08S01', 'x'), GrpcCode.UNAVAILABLE, 503, 'dependency'],
    [
      serverError(1146, 'ER_NO_SUCH_TABLE', '42S02', "Table 'test.secret' doesn't exist"),
      GrpcCode.INTERNAL,
      500,
      'dependency',
    ],
    [
      serverError(1045, 'ER_ACCESS_DENIED_ERROR', '28000', "Access denied for user 'app'"),
      GrpcCode.INTERNAL,
      500,
      'dependency',
    ],
    [
      clientError('PROTOCOL_CONNECTION_LOST', 'Connection lost: The server closed the connection.'),
      GrpcCode.UNAVAILABLE,
      503,
      'dependency',
    ],
    [
      clientError('ECONNREFUSED', 'connect ECONNREFUSED 10.1.2.3:3306'),
      GrpcCode.UNAVAILABLE,
      503,
      'dependency',
    ],
    [clientError('ETIMEDOUT', 'connect ETIMEDOUT'), GrpcCode.UNAVAILABLE, 503, 'dependency'],
    [
      clientError('PROTOCOL_SEQUENCE_TIMEOUT', 'Query inactivity timeout', false),
      GrpcCode.DEADLINE_EXCEEDED,
      504,
      'timeout',
    ],
    [
      Object.assign(new Error("Can't add new command when connection is in closed state"), { fatal: true }),
      GrpcCode.UNAVAILABLE,
      503,
      'dependency',
    ],
    [new Error('Pool is closed.'), GrpcCode.UNAVAILABLE, 503, 'dependency'],
    [new Error('Queue limit reached.'), GrpcCode.UNAVAILABLE, 503, 'dependency'],
    [new TypeError('Bind parameters must not contain undefined'), GrpcCode.INTERNAL, 500, 'dependency'],
  ])('%s -> %s / %s / %s', (error, code, status, category) => {
    expect(mysqlErrorCode(error)).toBe(code);
    const traced = mysqlErrorToTracedError(error);
    expect([traced.code, traced.httpStatus, traced.category, traced.expose]).toEqual([
      code,
      status,
      category,
      false,
    ]);
    expect(traced.cause).toBe(error);
  });

  it('never throws: hostile and non-error values map to INTERNAL', () => {
    const hostile = new Proxy(
      {},
      {
        get() {
          throw new Error('getter');
        },
      },
    );
    for (const v of [
      undefined,
      null,
      42,
      'ER_DUP_ENTRY',
      {},
      hostile,
      { errno: 1062 },
      { errno: -111, code: 'x y' },
    ]) {
      expect(mysqlErrorCode(v)).toBe(GrpcCode.INTERNAL);
      expect(mysqlErrorToTracedError(v).httpStatus).toBe(500);
    }
    // A number alone is not a server error: it needs the server's sqlMessage.
    expect(mysqlErrorCode({ errno: 1062, sqlMessage: 'dup' })).toBe(GrpcCode.ALREADY_EXISTS);
  });

  it('problem+json bodies leak nothing of the MySQL error (5xx and 4xx alike)', () => {
    for (const error of [
      serverError(1146, 'ER_NO_SUCH_TABLE', '42S02', "Table 'test.tw_secret_table' doesn't exist"),
      serverError(1062, 'ER_DUP_ENTRY', '23000', "Duplicate entry 'alice@example.com' for key 'email'"),
      clientError('ECONNREFUSED', 'connect ECONNREFUSED 10.1.2.3:3306 user=app password=hunter2'),
    ]) {
      const body = JSON.stringify(toProblemDetails(mysqlErrorToTracedError(error)));
      for (const leak of [
        'tw_secret_table',
        'alice@example.com',
        '10.1.2.3',
        'hunter2',
        'INSERT',
        'ER_',
        'sqlMessage',
      ]) {
        expect(body).not.toContain(leak);
      }
    }
  });
});
