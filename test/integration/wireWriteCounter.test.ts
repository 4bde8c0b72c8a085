import { expect } from 'chai';
import { MongoClient } from 'mongodb';
import { WireWriteCounter } from '../../bench/wireWriteCounter.js';
import { getTestStack } from '../support/testStack.js';

// The benchmarks' write counter, in front of the suite's real server: the counts are the
// server's own replies, so an update that changes nothing counts a statement and no write.

describe('wire write counter (bench:daily)', function () {
  this.timeout(60_000);
  let counter: WireWriteCounter;
  let client: MongoClient;

  before(async () => {
    const stack = await getTestStack();
    const { hostname, port } = new URL(stack.mongodbUri);
    counter = await WireWriteCounter.start({ host: hostname, port: Number(port) });
    client = await MongoClient.connect(`mongodb://127.0.0.1:${counter.port}/?directConnection=true`);
  });

  after(async () => {
    await client?.close();
    await counter?.close();
  });

  it('counts documents inserted, modified and deleted per collection, and collection commands', async () => {
    const db = client.db(`wire_counter_${process.pid}`);
    const a = db.collection<{ _id: string; v: number }>('a');
    await a.insertMany(Array.from({ length: 5 }, (_, i) => ({ _id: `k${i}`, v: i })));
    counter.take();
    await a.insertMany([
      { _id: 'x', v: 1 },
      { _id: 'y', v: 1 },
      { _id: 'z', v: 2 },
    ]);
    await a.updateOne({ _id: 'k0' }, { $set: { v: 100 } });
    await a.updateOne({ _id: 'k1' }, { $set: { v: 1 } }); // unchanged: a statement, no write
    await a.bulkWrite([
      { updateOne: { filter: { _id: 'k2' }, update: { $set: { v: 7 } } } },
      { updateOne: { filter: { _id: 'k3' }, update: { $set: { v: 3 } } } },
    ]);
    await a.updateMany({ v: 1 }, { $set: { v: 9 } }); // x, y and k1
    await a.deleteMany({ v: 9 });
    await a.find({}).toArray(); // reads are not counted
    await db.collection('b').insertOne({ _id: 'only' } as never);
    await db.collection('b').rename('c');
    await db.collection('c').drop();
    expect(counter.take()).to.deep.equal({
      a: { inserted: 3, modified: 1 + 0 + 1 + 3, deleted: 3, statements: 3 + 1 + 1 + 2 + 1 + 1, commands: 0 },
      b: { inserted: 1, modified: 0, deleted: 0, statements: 1, commands: 1 },
      c: { inserted: 0, modified: 0, deleted: 0, statements: 0, commands: 1 },
    });
    expect(counter.take()).to.deep.equal({});
    await db.dropDatabase();
  });
});
