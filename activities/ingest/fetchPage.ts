import { SpanKind, SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import { ApplicationFailure } from '@temporalio/common';
import { CancelError, type Got } from 'got';
import { BadBody, readEnvelope, type PageEnvelope } from './pageEnvelope.js';

export type { PageEnvelope };

export interface FetchedPage extends PageEnvelope {
  /** Size of the response body. */
  bytes: number;
}

// Worth another attempt: the service or the network may recover. Any other status
// (a 4xx, or a 5xx such as 501 that says the request itself is wrong) fails at once.
export const RETRYABLE_STATUS: ReadonlySet<number> = new Set([408, 429, 500, 502, 503, 504]);

/** A page is ~20 KB; anything near this is not a page of this API. */
export const DEFAULT_MAX_RESPONSE_BYTES = 8 * 1024 * 1024;

export function pageUrl(apiUrl: string, path: string, page: number, size: number): string {
  return `${apiUrl}${path}?page=${page}&size=${size}`;
}

/**
 * Fetches one page, once. Throws a retryable ApplicationFailure for what may pass
 * (429, 408, 5xx of RETRYABLE_STATUS, network errors, timeouts, bodies that are not
 * the expected JSON) and a non-retryable one, naming the URL and status, for any
 * other answer or a body over the size cap. Failure types: HttpRetryableStatus,
 * HttpNetworkError, HttpTimeout, HttpBadBody, HttpFatalStatus, HttpResponseTooLarge.
 */
export async function fetchPage(http: Got, url: string, signal?: AbortSignal, maxResponseBytes = DEFAULT_MAX_RESPONSE_BYTES): Promise<FetchedPage> {
  return readPage(await fetchPageText(http, url, signal, maxResponseBytes), url);
}

/** A page body as the envelope with its size; a body that is not a page fails as a retryable HttpBadBody. */
export function readPage(text: string, url: string): FetchedPage {
  try {
    return { ...readEnvelope(text, url), bytes: Buffer.byteLength(text) };
  } catch (err) {
    throw toFailure(err);
  }
}

/** A BadBody (thrown here or on a staging thread, where it arrives as a plain error of its type) as a retryable HttpBadBody failure; any other error as it is. */
export function toFailure(err: unknown): unknown {
  if (err instanceof BadBody || (err as { type?: string } | null)?.type === 'HttpBadBody')
    return ApplicationFailure.retryable((err as Error).message, 'HttpBadBody');
  return err;
}

/** fetchPage's request and status handling, without reading the body: the body's text. */
export async function fetchPageText(http: Got, url: string, signal?: AbortSignal, maxResponseBytes = DEFAULT_MAX_RESPONSE_BYTES): Promise<string> {
  // A span per request when tracing is on (a no-op otherwise), child of the activity's; the URL without credentials.
  const shown = new URL(url);
  shown.username = '';
  shown.password = '';
  return trace
    .getTracer('moovitamix')
    .startActiveSpan(
      `GET ${shown.pathname}`,
      { kind: SpanKind.CLIENT, attributes: { 'http.request.method': 'GET', 'url.full': shown.href, 'server.address': shown.hostname } },
      async (span) => {
        try {
          return await fetchPageTextUntraced(http, url, signal, maxResponseBytes, span);
        } catch (err) {
          span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
          throw err;
        } finally {
          span.end();
        }
      },
    );
}

async function fetchPageTextUntraced(http: Got, url: string, signal: AbortSignal | undefined, maxResponseBytes: number, span: Span): Promise<string> {
  let response;
  let tooLarge = false;
  try {
    const request = http.get(url, signal ? { signal } : {});
    void request.on('downloadProgress', ({ transferred }: { transferred: number }) => {
      if (transferred > maxResponseBytes && !tooLarge) {
        tooLarge = true;
        request.cancel();
      }
    });
    response = await request;
  } catch (err) {
    // Cancelled by Temporal (e.g. the attempt timed out): stop, do not classify.
    if (signal?.aborted) throw err;
    if (tooLarge || err instanceof CancelError) {
      throw ApplicationFailure.nonRetryable(`GET ${url} answered more than the ${maxResponseBytes}-byte cap`, 'HttpResponseTooLarge');
    }
    const e = err as Error & { code?: string };
    const type = e.code === 'ETIMEDOUT' ? 'HttpTimeout' : 'HttpNetworkError';
    throw ApplicationFailure.retryable(`GET ${url} failed: ${e.code ?? e.name}: ${e.message}`, type);
  }
  const status = response.statusCode;
  span.setAttribute('http.response.status_code', status);
  if (status !== 200) {
    const snippet = String(response.body).slice(0, 200);
    const message = `GET ${url} answered ${status}: ${snippet}`;
    if (RETRYABLE_STATUS.has(status)) {
      throw ApplicationFailure.create({
        message,
        type: 'HttpRetryableStatus',
        nonRetryable: false,
        details: [{ status }],
        nextRetryDelay: retryAfterMs(response.headers['retry-after']),
      });
    }
    throw ApplicationFailure.nonRetryable(message, 'HttpFatalStatus', { status });
  }
  return response.body as string;
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
