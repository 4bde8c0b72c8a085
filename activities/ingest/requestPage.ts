import { ApplicationFailure } from '@temporalio/common';
import type { Got } from 'got';
import { fetchPageText, readPage, type FetchedPage } from './fetchPage.js';
import type { RequestStats, RetryReason } from '../../contracts/ingest.js';

export interface RetryPolicy {
  /** Requests per page before the activity attempt gives up (Temporal then retries the activity). */
  maxAttempts: number;
  /** First backoff; doubled each retry, then drawn uniformly below it (full jitter). */
  baseDelayMs: number;
  maxDelayMs: number;
  /** A Retry-After longer than this is cut to it. */
  maxRetryAfterMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxAttempts: 5, baseDelayMs: 500, maxDelayMs: 15_000, maxRetryAfterMs: 60_000 };

/** Why a failed request is worth retrying; undefined when it is not. */
export function retryReason(err: unknown): RetryReason | undefined {
  if (!(err instanceof ApplicationFailure) || err.nonRetryable) return undefined;
  switch (err.type) {
    case 'HttpRetryableStatus': {
      const status = (err.details?.[0] as { status?: number } | undefined)?.status;
      if (status === 429) return '429';
      return status === 408 ? 'timeout' : '5xx';
    }
    case 'HttpTimeout':
      return 'timeout';
    case 'HttpNetworkError':
      return 'network';
    case 'HttpBadBody':
      return 'parse';
    default:
      return undefined;
  }
}

export interface RequestHooks {
  signal?: AbortSignal;
  /** Called before each wait, with what happened: the activity heartbeats and logs. */
  onRetry?(reason: RetryReason, attempt: number, delayMs: number, message: string): void;
  sleep?(ms: number, signal?: AbortSignal): Promise<void>;
  random?(): number;
}

/**
 * Fetches a page, retrying transient failures in place: exponential backoff with full
 * jitter, or the server's Retry-After (capped) when it sends one. Counts requests and
 * retries by reason into `stats`. Throws the last failure once maxAttempts is spent
 * (retryable: the activity is retried and resumes from its staged pages), or at once
 * for a failure that is not worth retrying.
 */
export async function requestPage(
  http: Got,
  url: string,
  policy: RetryPolicy,
  stats: RequestStats,
  hooks: RequestHooks = {},
  maxResponseBytes?: number,
): Promise<FetchedPage> {
  return requestPageAs(http, url, policy, stats, hooks, maxResponseBytes, (text) => readPage(text, url));
}

/**
 * requestPage with the body read by `read` (which throws HttpBadBody for a body to fetch
 * again): the ingest reads, validates and stages it on a thread in one step.
 */
export async function requestPageAs<T>(
  http: Got,
  url: string,
  policy: RetryPolicy,
  stats: RequestStats,
  hooks: RequestHooks,
  maxResponseBytes: number | undefined,
  read: (text: string) => T | Promise<T>,
): Promise<T> {
  const sleep = hooks.sleep ?? abortableSleep;
  const random = hooks.random ?? Math.random;
  for (let attempt = 1; ; attempt++) {
    stats.requests++;
    try {
      return await read(await fetchPageText(http, url, hooks.signal, maxResponseBytes));
    } catch (err) {
      const reason = retryReason(err);
      if (reason === undefined || attempt >= policy.maxAttempts) throw err;
      stats.retries[reason]++;
      const failure = err as ApplicationFailure;
      const retryAfter = typeof failure.nextRetryDelay === 'number' ? failure.nextRetryDelay : undefined;
      const backoff = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
      const delay = retryAfter !== undefined ? Math.min(retryAfter, policy.maxRetryAfterMs) : Math.round(random() * backoff);
      hooks.onRetry?.(reason, attempt, delay, failure.message);
      await sleep(delay, hooks.signal);
    }
  }
}

function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
