// Public API of @tracewire/sql. An explicit list: nothing under ./internal is exported.

export type { SqlAnalysis, SqlDialect } from './sql-lexer.js';
export {
  analyzeSql,
  DEFAULT_MAX_QUERY_TEXT_LENGTH,
  querySummary,
  SQL_SCAN_LIMIT,
  sanitizeSql,
} from './sql-lexer.js';
