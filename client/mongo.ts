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
