import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import got, { type Got } from 'got';

export interface HttpClientOptions {
  /** Whole-request timeout per attempt. */
  timeoutMs: number;
  /** Sockets kept open per host: pages are fetched over reused connections. */
  maxSockets: number;
}

export const DEFAULT_HTTP_OPTIONS: HttpClientOptions = { timeoutMs: 30_000, maxSockets: 64 };

/**
 * The one HTTP client of the worker: keep-alive connections and a timeout per request.
 * Retries are not done here (requestPage does them, and counts them); status codes
 * are classified by the caller, so none throws here.
 */
export function createHttpClient(options: HttpClientOptions = DEFAULT_HTTP_OPTIONS): Got {
  return got.extend({
    timeout: { request: options.timeoutMs },
    retry: { limit: 0 },
    throwHttpErrors: false,
    followRedirect: false,
    decompress: true,
    responseType: 'text',
    agent: {
      http: new HttpAgent({ keepAlive: true, maxSockets: options.maxSockets }),
      https: new HttpsAgent({ keepAlive: true, maxSockets: options.maxSockets }),
    },
    headers: { accept: 'application/json', 'user-agent': 'moovitamix-pipeline/0.1' },
  });
}
