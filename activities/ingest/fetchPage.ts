import { ApplicationFailure } from '@temporalio/common';
import type { Got } from 'got';
import * as v from 'valibot';

/** The envelope of every list endpoint; items are validated one by one later. */
const pageEnvelope = v.object({
  items: v.array(v.unknown()),
  total: v.pipe(v.number(), v.integer(), v.minValue(0)),
  page: v.pipe(v.number(), v.integer(), v.minValue(1)),
  size: v.pipe(v.number(), v.integer(), v.minValue(1)),
  pages: v.pipe(v.number(), v.integer(), v.minValue(0)),
});

export type PageEnvelope = v.InferOutput<typeof pageEnvelope>;

// Worth another attempt: the service or the network may recover. Any other status
// (a 4xx, or a 5xx such as 501 that says the request itself is wrong) fails at once.
export const RETRYABLE_STATUS: ReadonlySet<number> = new Set([408, 429, 500, 502, 503, 504]);

export function pageUrl(apiUrl: string, path: string, page: number, size: number): string {
  return `${apiUrl}${path}?page=${page}&size=${size}`;
}

/**
 * Fetches one page. Throws a retryable ApplicationFailure for what may pass
 * (429, 408, 5xx, network errors, timeouts, bodies that are not the expected JSON)
 * and a non-retryable one, naming the URL and status, for any other answer.
 */
export async function fetchPage(http: Got, url: string, signal?: AbortSignal): Promise<PageEnvelope> {
  let response;
  try {
    response = await http.get(url, signal ? { signal } : {});
  } catch (err) {
    // Cancelled by Temporal (e.g. the attempt timed out): stop, do not classify.
    if (signal?.aborted) throw err;
    const e = err as Error & { code?: string };
    throw ApplicationFailure.retryable(`GET ${url} failed: ${e.code ?? e.name}: ${e.message}`, 'HttpNetworkError');
  }
  const status = response.statusCode;
  if (status !== 200) {
    const snippet = String(response.body).slice(0, 200);
    const message = `GET ${url} answered ${status}: ${snippet}`;
    if (RETRYABLE_STATUS.has(status)) {
      throw ApplicationFailure.create({
        message,
        type: 'HttpRetryableStatus',
        nonRetryable: false,
        nextRetryDelay: retryAfterMs(response.headers['retry-after']),
      });
    }
    throw ApplicationFailure.nonRetryable(message, 'HttpFatalStatus');
  }
  let body: unknown;
  try {
    body = JSON.parse(response.body as string);
  } catch {
    throw ApplicationFailure.retryable(`GET ${url} answered 200 with a body that is not JSON`, 'HttpBadBody');
  }
  const parsed = v.safeParse(pageEnvelope, body);
  if (!parsed.success) {
    const issue = parsed.issues[0];
    throw ApplicationFailure.retryable(
      `GET ${url} answered 200 with an unexpected page envelope: ${v.getDotPath(issue) ?? '(root)'} ${issue.message}`,
      'HttpBadBody',
    );
  }
  return parsed.output;
}

/** Retry-After in seconds or as an HTTP date, capped at 5 minutes; undefined when absent or unreadable. */
export function retryAfterMs(header: string | string[] | undefined, now = Date.now()): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value) return undefined;
  const cap = 5 * 60_000;
  if (/^\s*\d+\s*$/.test(value)) return Math.min(Number(value) * 1000, cap);
  const at = Date.parse(value);
  if (Number.isNaN(at)) return undefined;
  return Math.min(Math.max(at - now, 0), cap);
}
