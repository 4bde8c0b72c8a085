import type { Db } from 'mongodb';
import { createHttpClient } from '../../activities/ingest/httpClient.js';
import type { FetchDeps } from '../../activities/ingest/fetchPageRange.js';

/** fetchPageRange's dependencies for a test: brisk retries, small pages. */
export const fetchDeps = (db: Db, apiUrl: string): FetchDeps => ({
  db,
  http: createHttpClient({ timeoutMs: 5_000, maxSockets: 4 }),
  apiUrl,
  retryPolicy: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 50, maxRetryAfterMs: 100 },
  maxResponseBytes: 1 << 20,
});
