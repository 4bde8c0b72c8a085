import { ApplicationFailure } from '@temporalio/common';
import { Binary, type Db } from 'mongodb';
import { decodeModel, encodeModel } from '../models/artifact.js';
import type { RecommenderModel } from '../models/types.js';
import { CHALLENGER_ID, STATE, type StateDocument } from './recommendations.js';
import { RollbackRefused } from '../contracts/rollbackRefused.js';
import type { ModelFamily } from '../contracts/names.js';
import type { ModelRef } from '../contracts/recommend.js';

/*
 * The model registry, as MLflow keeps one: numbered versions per model name, aliases
 * (`champion`, `challenger`) pointing at a version, an append-only log of alias moves.
 * Artifacts are stored as chunked binary documents keyed `<artifact key>#<n>`, so a
 * read is a handful of `_id` lookups on any MongoDB-protocol server.
 */

export const MODEL_VERSIONS = 'model_versions';
export const MODEL_ALIASES = 'model_aliases';
export const MODEL_ALIAS_LOG = 'model_alias_log';
export const MODEL_ARTIFACTS = 'model_artifacts';

/** Well under MongoDB's 16 MB document limit. */
const ARTIFACT_CHUNK_BYTES = 8 * 1024 * 1024;

export interface ModelVersionDocument {
  /** `<name>@<version>`, also the artifact key. */
  _id: string;
  name: string;
  version: number;
  family: ModelFamily;
  params: Record<string, number | string>;
  /** Offline metrics, e.g. `ndcg@10`. */
  metrics: Record<string, number>;
  status: ModelStatus;
  created_at: Date;
  items: number;
  artifact: { key: string; bytes: number; chunks: number };
  /** Where it came from: for trained versions a TrainingLineage (snapshot, split, seed, code version). */
  lineage: Partial<TrainingLineage> & Record<string, unknown>;
}

export interface ModelAliasDocument {
  _id: string;
  model_key: string;
  moved_at: Date;
  reason: string;
}

interface ArtifactChunk {
  _id: string;
  key: string;
  index: number;
  count: number;
  data: Binary;
}

export async function saveArtifact(db: Db, key: string, bytes: Buffer): Promise<{ chunks: number; bytes: number }> {
  const count = Math.max(1, Math.ceil(bytes.length / ARTIFACT_CHUNK_BYTES));
  const chunks = db.collection<ArtifactChunk>(MODEL_ARTIFACTS);
  // Chunk 0 last: it names the count, so an artifact whose chunk 0 exists is whole.
  for (let index = count - 1; index >= 0; index--) {
    const data = new Binary(bytes.subarray(index * ARTIFACT_CHUNK_BYTES, (index + 1) * ARTIFACT_CHUNK_BYTES));
    await chunks.replaceOne({ _id: `${key}#${index}` }, { key, index, count, data }, { upsert: true });
  }
  return { chunks: count, bytes: bytes.length };
}

export async function artifactExists(db: Db, key: string): Promise<boolean> {
  return (await db.collection<ArtifactChunk>(MODEL_ARTIFACTS).findOne({ _id: `${key}#0` }, { projection: { _id: 1 } })) !== null;
}

export async function loadArtifact(db: Db, key: string): Promise<Buffer> {
  const chunks = db.collection<ArtifactChunk>(MODEL_ARTIFACTS);
  const first = await chunks.findOne({ _id: `${key}#0` });
  // A missing artifact will not appear by retrying: fail at once, with its name.
  if (!first) throw ApplicationFailure.nonRetryable(`model artifact ${key} not found`, 'ModelUnavailable');
  const parts = [first.data.buffer];
  for (let index = 1; index < first.count; index++) {
    const chunk = await chunks.findOne({ _id: `${key}#${index}` });
    if (!chunk) throw ApplicationFailure.nonRetryable(`model artifact ${key}: chunk ${index} of ${first.count} missing`, 'ModelUnavailable');
    parts.push(chunk.data.buffer);
  }
  return Buffer.concat(parts);
}

export async function deleteArtifact(db: Db, key: string): Promise<void> {
  const first = await db.collection<ArtifactChunk>(MODEL_ARTIFACTS).findOne({ _id: `${key}#0` }, { projection: { count: 1 } });
  for (let index = (first?.count ?? 1) - 1; index >= 0; index--) await db.collection<ArtifactChunk>(MODEL_ARTIFACTS).deleteOne({ _id: `${key}#${index}` });
}

/**
 * Where a version stands. A trained `candidate` becomes the `champion` (serves everyone) or
 * the `challenger` (the canary's arm) when an alias moves to it, or is `rejected` by the
 * retraining decision; a champion replaced later is `archived`. `registered`: stored by
 * hand (tests, benchmarks), not through training.
 */
export type ModelStatus = 'registering' | 'registered' | 'candidate' | 'champion' | 'challenger' | 'rejected' | 'archived';
export const ALIASES = ['champion', 'challenger'] as const;
export type Alias = (typeof ALIASES)[number];

/** Lineage every trained version carries: what it was trained on, and how. */
export interface TrainingLineage {
  /** The frozen training snapshot (`training_snapshots`). */
  snapshot_id: string;
  /** The split the metrics were measured on, with its seed. */
  split: { method: string; seed: number; [k: string]: unknown };
  /** The training seed. */
  seed: number;
  /** Version of the code that trained it. */
  code_version: string;
  /** The retraining run (workflow id) and family: a retried training finds its version. */
  run: string;
  train_ms: number;
}

/** Stores a model as the next version of `name`; with `lineage.run`, a second call with the same run returns the first version. */
export async function registerModel(
  db: Db,
  options: { name: string; model: RecommenderModel; metrics?: Record<string, number>; lineage?: Record<string, unknown>; status?: ModelStatus },
): Promise<ModelVersionDocument> {
  if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(options.name)) throw new Error(`model name must be lower-case letters, digits and dashes, got "${options.name}"`);
  const versions = db.collection<ModelVersionDocument>(MODEL_VERSIONS);
  const bytes = encodeModel(options.model);
  const status = options.status ?? 'registered';
  const finish = async (doc: ModelVersionDocument): Promise<ModelVersionDocument> => {
    // The number is ours once the document is in: the artifact goes under its key, then the status.
    const artifact = await saveArtifact(db, doc._id, bytes);
    await versions.updateOne({ _id: doc._id }, { $set: { status, artifact: { key: doc._id, ...artifact } } });
    return { ...doc, status, artifact: { key: doc._id, ...artifact } };
  };
  const run = options.lineage?.run;
  if (typeof run === 'string') {
    const done = await versions.findOne({ name: options.name, 'lineage.run': run });
    // A first attempt that died between claiming its number and storing its artifact is finished here.
    if (done) return done.status === 'registering' ? finish(done) : done;
  }
  // Two registrations of one name may race for a number: the document claims it (the
  // loser's insert fails and it takes the next), so no artifact is ever written under
  // another registration's key.
  for (let attempt = 0; ; attempt++) {
    const latest = await versions.find({ name: options.name }, { projection: { version: 1 } }).toArray();
    const version = Math.max(0, ...latest.map((d) => d.version)) + 1;
    const key = `${options.name}@${version}`;
    const doc: ModelVersionDocument = {
      _id: key,
      name: options.name,
      version,
      family: options.model.family,
      params: options.model.params,
      metrics: options.metrics ?? {},
      status: 'registering',
      created_at: new Date(),
      items: options.model.itemIds.length,
      artifact: { key, bytes: bytes.length, chunks: 0 },
      lineage: options.lineage ?? {},
    };
    try {
      await versions.insertOne(doc);
    } catch (err) {
      if ((err as { code?: number }).code !== 11000 || attempt >= 5) throw err;
      continue;
    }
    return finish(doc);
  }
}

export interface AliasMove {
  alias: Alias;
  from: string | null;
  to: string;
  at: Date;
  reason: string;
  /** promote: a decision or a person moved it forward; rollback: back to an earlier version. */
  kind: 'promote' | 'rollback';
}

/**
 * Points an alias at a version, logs the move with its reason, and updates both versions'
 * status. Moving an alias to the version it already names changes nothing and logs nothing,
 * so a retried promotion is harmless.
 */
export async function setAlias(
  db: Db,
  alias: Alias,
  modelKey: string,
  reason: string,
  kind: AliasMove['kind'] = 'promote',
): Promise<{ moved: boolean; from: string | null }> {
  const versions = db.collection<ModelVersionDocument>(MODEL_VERSIONS);
  const version = await versions.findOne({ _id: modelKey });
  if (!version) throw new Error(`model version ${modelKey} is not registered`);
  if (version.status === 'registering' || !(await artifactExists(db, modelKey))) throw new Error(`model version ${modelKey} has no artifact`);
  const named = await db.collection<ModelAliasDocument>(MODEL_ALIASES).findOne({ _id: alias === 'champion' ? 'challenger' : 'champion' });
  if (alias === 'challenger' && named?.model_key === modelKey) throw new Error(`${modelKey} is the champion: it cannot be its own challenger`);
  const previous = await db.collection<ModelAliasDocument>(MODEL_ALIASES).findOne({ _id: alias });
  if (previous?.model_key === modelKey) return { moved: false, from: modelKey };
  const now = new Date();
  await db.collection<ModelAliasDocument>(MODEL_ALIASES).replaceOne({ _id: alias }, { model_key: modelKey, moved_at: now, reason }, { upsert: true });
  await db.collection(MODEL_ALIAS_LOG).insertOne({ alias, from: previous?.model_key ?? null, to: modelKey, at: now, reason, kind } satisfies AliasMove);
  await versions.updateOne({ _id: modelKey }, { $set: { status: alias } });
  if (previous) {
    const other = await db.collection<ModelAliasDocument>(MODEL_ALIASES).findOne({ model_key: previous.model_key });
    // A champion replaced is archived; a challenger replaced goes back to being a candidate.
    if (!other) await versions.updateOne({ _id: previous.model_key }, { $set: { status: alias === 'champion' ? 'archived' : 'candidate' } });
  }
  // The canary's batch belongs to the challenger it was computed with: when the challenger
  // changes (or becomes the champion), that batch stops being served until a new one is published.
  if (alias === 'challenger' || named?.model_key === modelKey) await db.collection<StateDocument>(STATE).deleteOne({ _id: CHALLENGER_ID });
  if (alias === 'champion' && named?.model_key === modelKey) {
    // One version cannot be both arms of the canary.
    await db.collection<ModelAliasDocument>(MODEL_ALIASES).deleteOne({ _id: 'challenger' });
  }
  return { moved: true, from: previous?.model_key ?? null };
}

/** Every alias and the version it names. */
export async function aliases(db: Db): Promise<Map<string, ModelAliasDocument>> {
  const all = await db.collection<ModelAliasDocument>(MODEL_ALIASES).find({}).toArray();
  return new Map(all.map((a) => [a._id, a]));
}

/** The alias log, newest first. */
export async function aliasLog(db: Db, filter: { alias?: Alias; key?: string } = {}): Promise<AliasMove[]> {
  const all = await db
    .collection<AliasMove>(MODEL_ALIAS_LOG)
    .find(filter.alias ? { alias: filter.alias } : {}, { projection: { _id: 0 } })
    .toArray();
  return all.filter((m) => !filter.key || m.to === filter.key || m.from === filter.key).sort((a, b) => b.at.getTime() - a.at.getTime());
}

/**
 * The champion `models rollback` returns to: the one the current champion replaced when it
 * was promoted. Rolling back twice walks further back, as an undo stack would.
 */
export async function rollbackTarget(db: Db): Promise<{ from: string; to: string }> {
  const current = await db.collection<ModelAliasDocument>(MODEL_ALIASES).findOne({ _id: 'champion' });
  if (!current) throw new RollbackRefused('there is no champion to roll back');
  const promotion = (await aliasLog(db, { alias: 'champion' })).find((m) => m.to === current.model_key && m.kind === 'promote');
  if (!promotion?.from) throw new RollbackRefused(`${current.model_key} was the first champion: there is no earlier one to roll back to`);
  const target = await db.collection<ModelVersionDocument>(MODEL_VERSIONS).findOne({ _id: promotion.from });
  if (!target) throw new RollbackRefused(`the previous champion ${promotion.from} is no longer registered`);
  if (!(await artifactExists(db, promotion.from))) throw new RollbackRefused(`the previous champion ${promotion.from} has no artifact any more`);
  return { from: current.model_key, to: promotion.from };
}

/** The model an alias names, or null when it names none yet. */
export async function aliasRef(db: Db, alias: Alias): Promise<ModelRef | null> {
  const found = await db.collection<ModelAliasDocument>(MODEL_ALIASES).findOne({ _id: alias });
  if (!found) return null;
  const version = await db.collection<ModelVersionDocument>(MODEL_VERSIONS).findOne({ _id: found.model_key });
  if (!version) throw ApplicationFailure.nonRetryable(`the ${alias} alias names ${found.model_key}, which is not registered`, 'ModelUnavailable');
  return { key: version._id, name: version.name, version: String(version.version), family: version.family };
}

/** The model the `champion` alias names, or null when there is none yet. */
export function championRef(db: Db): Promise<ModelRef | null> {
  return aliasRef(db, 'champion');
}

const cache = new Map<string, RecommenderModel>();

/** A model by artifact key, decoded once per process (the two most recent are kept). */
export async function loadModel(db: Db, key: string): Promise<RecommenderModel> {
  return cache.get(key) ?? rememberModel(key, decodeModel(await loadArtifact(db, key)));
}

/** Keeps a decoded model for loadModel; returns it. */
export function rememberModel(key: string, model: RecommenderModel): RecommenderModel {
  cache.set(key, model);
  while (cache.size > 2) cache.delete(cache.keys().next().value as string);
  return model;
}
