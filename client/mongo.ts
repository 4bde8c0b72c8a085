import { MongoClient, type Db } from 'mongodb';
import type { Config } from '../config/config.js';
import { redactUri } from '../config/redact.js';

/** The pipeline's database, with an error that says what to do. */
export async function connectDb(config: Config): Promise<{ db: Db; close: () => Promise<void> }> {
  const client = new MongoClient(config.mongodbUri, { serverSelectionTimeoutMS: 5_000, appName: 'moovitamix-cli' });
  try {
    await client.connect();
  } catch (err) {
    await client.close().catch(() => {});
    throw new Error(
      `Cannot reach MongoDB at ${redactUri(config.mongodbUri)} (${(err as Error).message}). Start the dev stack with \`moovitamix stack up\`, or set MONGODB_URI.`,
    );
  }
  return { db: client.db(config.mongodbDb), close: () => client.close() };
}

/** Runs `fn` with the pipeline's database, and closes the connection whatever happens. */
export async function withDb<T>(config: Config, fn: (db: Db) => Promise<T>): Promise<T> {
  const { db, close } = await connectDb(config);
  try {
    return await fn(db);
  } finally {
    await close();
  }
}
