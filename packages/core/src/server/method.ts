/**
 * Methods semconv knows (RFC 9110 + PATCH RFC 5789 + QUERY). Anything else becomes `_OTHER` on
 * spans and metrics, so an attacker-chosen method cannot create series (CVE-2023-45142).
 * Matching is exact: HTTP methods are case-sensitive (RFC 9110 §9.1).
 */
const KNOWN_METHODS: ReadonlySet<string> = new Set([
  'CONNECT',
  'DELETE',
  'GET',
  'HEAD',
  'OPTIONS',
  'PATCH',
  'POST',
  'PUT',
  'QUERY',
  'TRACE',
]);

export const METHOD_OTHER = '_OTHER';

/** The semconv `http.request.method` value for a raw request method. */
export function normalizeMethod(method: string | undefined): string {
  return method !== undefined && KNOWN_METHODS.has(method) ? method : METHOD_OTHER;
}
