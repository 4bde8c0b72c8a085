import type { Got } from 'got';
import type { Db } from 'mongodb';
import { createIngestActivities } from './ingest/activities.js';
import { createRunActivities } from './runs/recordRun.js';

export interface ActivityDeps {
  db: Db;
  http: Got;
  /** Base URL of the Moovitamix API, without a trailing slash. */
  apiUrl: string;
}

/** Every activity of the worker, bound to its dependencies (tests inject their own). */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createIngestActivities(deps),
    ...createRunActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
