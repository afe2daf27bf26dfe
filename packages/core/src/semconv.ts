// Stable OpenTelemetry semantic-convention names used by tracewire (semantic-conventions
// docs/http/http-spans.md and docs/http/http-metrics.md). Copied as literals so that the packages
// do not depend on `@opentelemetry/semantic-conventions` at run time.

export const ATTR_HTTP_REQUEST_METHOD = 'http.request.method';
export const ATTR_HTTP_REQUEST_METHOD_ORIGINAL = 'http.request.method_original';
export const ATTR_HTTP_RESPONSE_STATUS_CODE = 'http.response.status_code';
export const ATTR_HTTP_ROUTE = 'http.route';
export const ATTR_URL_PATH = 'url.path';
export const ATTR_URL_QUERY = 'url.query';
export const ATTR_URL_SCHEME = 'url.scheme';
export const ATTR_SERVER_ADDRESS = 'server.address';
export const ATTR_SERVER_PORT = 'server.port';
export const ATTR_CLIENT_ADDRESS = 'client.address';
export const ATTR_NETWORK_PEER_ADDRESS = 'network.peer.address';
export const ATTR_NETWORK_PEER_PORT = 'network.peer.port';
export const ATTR_NETWORK_PROTOCOL_VERSION = 'network.protocol.version';
export const ATTR_USER_AGENT_ORIGINAL = 'user_agent.original';
export const ATTR_ERROR_TYPE = 'error.type';

export const METRIC_HTTP_SERVER_REQUEST_DURATION = 'http.server.request.duration';
export const METRIC_HTTP_SERVER_ACTIVE_REQUESTS = 'http.server.active_requests';

/** Bucket boundaries (seconds) advised by semconv for HTTP duration histograms. */
export const HTTP_DURATION_BUCKETS: readonly number[] = Object.freeze([
  0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
]);

/** `error.type` for a request whose client went away before the response was complete. */
export const ERROR_TYPE_ABORTED = 'aborted';
/** `error.type` for anything outside the closed set. */
export const ERROR_TYPE_OTHER = '_OTHER';
