import * as v from 'valibot';
import { pageEnvelope } from '../../sources/schemas.js';

export type PageEnvelope = v.InferOutput<typeof pageEnvelope>;

/**
 * A 200 whose body is not a page of the API (HTML, truncated JSON, another shape): worth
 * requesting again. Plain, so that it crosses from a staging thread; the activity turns it
 * into a retryable ApplicationFailure of this type.
 */
export class BadBody extends Error {
  override name = 'BadBody';
  readonly type = 'HttpBadBody';
}

/** A page body as the envelope, or BadBody naming the URL. */
export function readEnvelope(text: string, url: string): PageEnvelope {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new BadBody(`GET ${url} answered 200 with a body that is not JSON`);
  }
  const parsed = v.safeParse(pageEnvelope, body);
  if (!parsed.success) {
    const issue = parsed.issues[0];
    throw new BadBody(`GET ${url} answered 200 with an unexpected page envelope: ${v.getDotPath(issue) ?? '(root)'} ${issue.message}`);
  }
  return parsed.output;
}
