import http from 'node:http';
import type net from 'node:net';
import type { AddressInfo } from 'node:net';

export interface TestServer {
  server: http.Server;
  /** `http://127.0.0.1:<port>` */
  url: string;
  port: number;
  /** Closes the server and destroys every open connection. */
  close(): Promise<void>;
}

/** Starts a real HTTP server on port 0 of 127.0.0.1 and tracks its sockets for teardown. */
export async function startServer(listener: http.RequestListener): Promise<TestServer> {
  const server = http.createServer(listener);
  const sockets = new Set<net.Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    server,
    port,
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

export interface RawRequestOptions {
  method?: string;
  /** Header lines as pairs, so a header can be sent several times. */
  headers?: [string, string][];
  body?: string;
}

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** Sends one request with `node:http`, allowing repeated header lines. */
export function rawRequest(url: string, options: RawRequestOptions = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    // Raw header arrays skip Node's defaults, so add Host unless the test sends its own.
    const flat: string[] = [];
    const headers = options.headers ?? [];
    if (!headers.some(([k]) => k.toLowerCase() === 'host')) flat.push('host', new URL(url).host);
    for (const [k, v] of headers) flat.push(k, v);
    const req = http.request(url, { method: options.method ?? 'GET', headers: flat, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}
