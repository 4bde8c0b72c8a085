import type { Db } from 'mongodb';
import { isRemoved, pointerLayers, servedList, type LayerDocument, type RecommendationDocument, type StateDocument } from '../../stores/recommendations.js';

/**
 * One user's list as the batch a pointer names serves it. The layers are read at once (one
 * point read by `_id` each, at most MOOVITAMIX_RECOMMEND_MAX_OVERLAYS + 1, in one round
 * trip) and the newest layer holding the user answers: a removal marker there means the
 * user has no list. The answer names the batch served, whichever layer held the list
 * (`computed_in` says which batch computed it), without the tracks the batch masks.
 */
export async function findList(
  db: Db,
  state: Pick<StateDocument, 'batch_id' | 'collection' | 'layers' | 'masked_tracks'>,
  userId: number,
): Promise<RecommendationDocument | null> {
  const found = await Promise.all(pointerLayers(state).map((name) => db.collection<LayerDocument>(name).findOne({ _id: String(userId) })));
  const doc = found.find((d) => d !== null);
  if (!doc || isRemoved(doc)) return null;
  return servedList({ ...doc, batch_id: state.batch_id }, maskOf(state));
}

const masks = new WeakMap<object, ReadonlySet<number>>();

/** The pointer's masked tracks as a set, built once per pointer read. */
function maskOf(state: Pick<StateDocument, 'masked_tracks'>): ReadonlySet<number> {
  let mask = masks.get(state);
  if (!mask) masks.set(state, (mask = new Set(state.masked_tracks ?? [])));
  return mask;
}
