import type { Got } from 'got';
import type { Db } from 'mongodb';
import { createIngestActivities } from './ingest/activities.js';
import type { RetryPolicy } from './ingest/requestPage.js';
import { createRunActivities } from './runs/recordRun.js';

export interface ActivityDeps {
  db: Db;
  http: Got;
  /** Base URL of the Moovitamix API, without a trailing slash. */
  apiUrl: string;
  /** How a page request is retried in place before the activity attempt fails. */
  retryPolicy: RetryPolicy;
  /** Answers larger than this are refused. */
  maxResponseBytes: number;
}

/** Every activity of the worker, bound to its dependencies (tests inject their own). */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createIngestActivities(deps),
    ...createRunActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
