// The requests the demo sends to itself.

export interface Exchange {
  readonly method: string;
  readonly path: string;
  readonly status: number;
  readonly statusText: string;
  readonly contentType: string;
  readonly body: string;
}

/** One request per case the demo shows: success (twice), 404 TracedError, 500 Error, no route. */
export const DEMO_PATHS: readonly string[] = [
  '/orders/7',
  '/orders/42',
  '/orders/missing',
  '/boom',
  '/no/such/page',
];

/** Sends the requests one after another (so the printed order is stable). */
export async function driveTraffic(
  baseUrl: string,
  paths: readonly string[] = DEMO_PATHS,
): Promise<Exchange[]> {
  const exchanges: Exchange[] = [];
  for (const path of paths) {
    const response = await fetch(baseUrl + path);
    exchanges.push({
      method: 'GET',
      path,
      status: response.status,
      statusText: response.statusText,
      contentType: response.headers.get('content-type') ?? '',
      body: await response.text(),
    });
  }
  return exchanges;
}
