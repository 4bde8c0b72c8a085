import { ApplicationFailure } from '@temporalio/common';
import { Binary, type Db } from 'mongodb';
import { decodeModel, encodeModel } from '../../models/artifact.js';
import type { ModelFamily, ModelRef, RecommenderModel } from '../../models/types.js';

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
  status: 'registered' | 'archived';
  created_at: Date;
  items: number;
  artifact: { key: string; bytes: number; chunks: number };
  /** Where it came from: snapshot, split, code version; free-form until training lands. */
  lineage: Record<string, unknown>;
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

/** Stores a model as the next version of `name`. */
export async function registerModel(
  db: Db,
  options: { name: string; model: RecommenderModel; metrics?: Record<string, number>; lineage?: Record<string, unknown> },
): Promise<ModelVersionDocument> {
  if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(options.name)) throw new Error(`model name must be lower-case letters, digits and dashes, got "${options.name}"`);
  const versions = db.collection<ModelVersionDocument>(MODEL_VERSIONS);
  const latest = await versions.find({ name: options.name }, { projection: { version: 1 } }).toArray();
  const version = Math.max(0, ...latest.map((d) => d.version)) + 1;
  const key = `${options.name}@${version}`;
  const artifact = await saveArtifact(db, key, encodeModel(options.model));
  const doc: ModelVersionDocument = {
    _id: key,
    name: options.name,
    version,
    family: options.model.family,
    params: options.model.params,
    metrics: options.metrics ?? {},
    status: 'registered',
    created_at: new Date(),
    items: options.model.itemIds.length,
    artifact: { key, ...artifact },
    lineage: options.lineage ?? {},
  };
  await versions.insertOne(doc);
  return doc;
}

/** Points an alias at a version and logs the move with its reason. */
export async function setAlias(db: Db, alias: string, modelKey: string, reason: string): Promise<void> {
  const version = await db.collection<ModelVersionDocument>(MODEL_VERSIONS).findOne({ _id: modelKey });
  if (!version) throw new Error(`model version ${modelKey} is not registered`);
  const previous = await db.collection<ModelAliasDocument>(MODEL_ALIASES).findOne({ _id: alias });
  const now = new Date();
  await db.collection<ModelAliasDocument>(MODEL_ALIASES).replaceOne({ _id: alias }, { model_key: modelKey, moved_at: now, reason }, { upsert: true });
  await db.collection(MODEL_ALIAS_LOG).insertOne({ alias, from: previous?.model_key ?? null, to: modelKey, at: now, reason });
}

/** The model the `champion` alias names, or null when there is none yet. */
export async function championRef(db: Db): Promise<ModelRef | null> {
  const alias = await db.collection<ModelAliasDocument>(MODEL_ALIASES).findOne({ _id: 'champion' });
  if (!alias) return null;
  const version = await db.collection<ModelVersionDocument>(MODEL_VERSIONS).findOne({ _id: alias.model_key });
  if (!version) throw ApplicationFailure.nonRetryable(`the champion alias names ${alias.model_key}, which is not registered`, 'ModelUnavailable');
  return { key: version._id, name: version.name, version: String(version.version), family: version.family };
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
