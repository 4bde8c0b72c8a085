import * as v from 'valibot';
import { pageUrl } from '../activities/ingest/fetchPage.js';
import { SOURCES } from '../sources/index.js';
import { pageEnvelope } from '../sources/schemas.js';
import { SOURCE_NAMES } from '../contracts/names.js';

/**
 * Whether a server at this URL answers the Moovitamix contract: each list endpoint gives
 * a page envelope for page 1 of size 1. It tells the real API (or another simulator)
 * already running on this machine, which the stack then uses, from an unrelated process
 * holding the port, which still stops `stack up` with a clear error.
 */
export async function answersMoovitamixContract(apiUrl: string, timeoutMs = 3_000): Promise<boolean> {
  const answers = await Promise.all(
    SOURCE_NAMES.map(async (name) => {
      try {
        const response = await fetch(pageUrl(apiUrl, SOURCES[name].path, 1, 1), { redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
        if (response.status !== 200) return false;
        const page = v.safeParse(pageEnvelope, await response.json());
        return page.success && page.output.page === 1 && page.output.size === 1 && page.output.items.length <= 1;
      } catch {
        return false;
      }
    }),
  );
  return answers.every(Boolean);
}
