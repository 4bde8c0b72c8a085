import type { Db } from 'mongodb';
import { findList } from '../activities/recommend/lookup.js';
import {
  BATCHES,
  activeState,
  challengerState,
  itemsOf,
  type BatchDocument,
  type RecommendationDocument,
  type StateDocument,
} from '../stores/recommendations.js';
import { itemsJson } from '../stores/recommendedItems.js';
import { canaryArm, type Arm } from './canary.js';
import type { Reply, Route } from './route.js';

export interface RecommendationsApiOptions {
  /** How long the batch pointers are reused before they are read again. */
  pointerTtlMs?: number;
  /** Share of users served from the challenger's batch, when one is published (default 0: off). */
  canaryShare?: number;
  /** Users' lists kept in memory (batches never change once written, so the cache is never stale). */
  cacheSize?: number;
}

const USER_ID = /^[1-9][0-9]{0,15}$/;
const LIMIT = /^[0-9]{1,3}$/;

/**
 * `GET /users/:id/recommendations?limit=N`: one user's list from the active batch, or,
 * for the canary's share of users (canary.ts) while a challenger batch is published, from
 * the challenger's batch (a user it lacks falls back to the active one). The id and the
 * limit are checked against fixed patterns before anything is read; the only queries made
 * are lookups by `_id` (a string built from a validated integer) in the collections a
 * pointer names: its batch's layers, at most MOOVITAMIX_RECOMMEND_MAX_OVERLAYS + 1, read
 * at once (lookup.ts). Each answer comes from one batch, named in it with its model and arm;
 * after a publish or a rollback the new batch is served within `pointerTtlMs`.
 */
export function recommendationRoutes(db: Db, options: RecommendationsApiOptions = {}): Route[] {
  const ttl = options.pointerTtlMs ?? 1000;
  const share = options.canaryShare ?? 0;
  type Slot = { state: StateDocument; publishedAt: Date | null };
  type Pointer = { active: Slot | null; challenger: Slot | null; at: number };
  let cached: Pointer | undefined;
  let refreshing: Promise<Pointer> | undefined;
  const slot = async (state: StateDocument | null): Promise<Slot | null> => {
    if (!state) return null;
    const batch = await db.collection<BatchDocument>(BATCHES).findOne({ _id: state.batch_id }, { projection: { published_at: 1 } });
    return { state, publishedAt: batch?.published_at ?? null };
  };
  // The challenger's pointer is read only while the canary is on.
  const read = async (): Promise<Pointer> => {
    const [active, challenger] = await Promise.all([activeState(db).then(slot), share > 0 ? challengerState(db).then(slot) : null]);
    return { active, challenger, at: Date.now() };
  };
  // One read at a time, however many requests arrive while the pointers are being read.
  const pointer = async (): Promise<Pointer> => {
    if (cached && Date.now() - cached.at < ttl) return cached;
    refreshing ??= read().finally(() => (refreshing = undefined));
    cached = await refreshing;
    return cached;
  };

  const cacheSize = options.cacheSize ?? 50_000;
  // Keyed by batch and user: a new batch brings new keys; the oldest entries go first.
  // Kept with the list as JSON text (itemsJson is a stored form too): served without converting it again.
  const lists = new Map<string, RecommendationDocument | null>();
  const lookup = async (state: StateDocument, userId: number) => {
    const key = `${state.batch_id}/${userId}`;
    if (lists.has(key)) return lists.get(key) ?? null;
    const found = await findList(db, state, userId);
    const doc = found && { ...found, items: itemsJson(found.items) };
    lists.set(key, doc);
    if (lists.size > cacheSize) lists.delete(lists.keys().next().value as string);
    return doc;
  };

  return [
    {
      method: 'GET',
      path: /^\/users\/(?<id>[^/]*)\/recommendations$/,
      handle: async (params, query): Promise<Reply> => {
        const id = decodeSafely(params.id ?? '');
        if (id === null || !USER_ID.test(id) || !Number.isSafeInteger(Number(id)))
          return { status: 400, body: { error: 'the user id must be a positive whole number' } };
        const limits = query.getAll('limit');
        if (limits.length > 1) return { status: 400, body: { error: 'limit may be given once' } };
        const limitText = limits[0];
        if (limitText !== undefined && (!LIMIT.test(limitText) || Number(limitText) < 1 || Number(limitText) > 100))
          return { status: 400, body: { error: 'limit must be a whole number from 1 to 100' } };
        const { active, challenger } = await pointer();
        if (!active) return { status: 503, body: { error: 'no recommendations have been published yet' } };
        const user = Number(id);
        let arm: Arm = 'champion';
        let from = active;
        let doc: RecommendationDocument | null = null;
        if (challenger && canaryArm(user, share) === 'challenger') {
          doc = await lookup(challenger.state, user);
          if (doc) [arm, from] = ['challenger', challenger];
        }
        doc ??= await lookup(active.state, user);
        if (!doc) return { status: 404, body: { error: `user ${user} is not in the active batch`, batch_id: active.state.batch_id } };
        const head = {
          user_id: doc.user_id,
          batch_id: doc.batch_id,
          published_at: from.publishedAt,
          model: doc.model,
          arm,
          computed_in: doc.computed_in,
          cold_start: doc.cold_start,
        };
        // The cached list is JSON text as served: spliced in whole, parsed only to cut it.
        const items = limitText === undefined || Number(limitText) >= doc.count ? doc.items : JSON.stringify(itemsOf(doc).slice(0, Number(limitText)));
        return { status: 200, body: `${JSON.stringify(head).slice(0, -1)},"items":${items}}`, contentType: 'application/json; charset=utf-8' };
      },
    },
  ];
}

function decodeSafely(text: string): string | null {
  try {
    return decodeURIComponent(text);
  } catch {
    return null;
  }
}
