import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { BSON } from 'mongodb';

/*
 * A TCP proxy in front of a MongoDB-protocol server that counts, from the wire, what each
 * collection has written: documents inserted, modified and deleted as the server's replies
 * report them (an updateMany counts every document it modified), and the collection-level
 * commands (drop, rename, create, createIndexes). It sees every client's writes, whatever
 * process makes them, and needs no change in the code measured. Bytes pass unchanged.
 */

export interface CollectionWrites {
  inserted: number;
  modified: number;
  deleted: number;
  /** Write statements sent (insert documents, update and delete statements): what a store pays for even when nothing changes. */
  statements: number;
  /** Collection-level commands: drop, renameCollection, create, createIndexes, dropIndexes. */
  commands: number;
}

const WRITE_COMMANDS = new Set(['insert', 'update', 'delete', 'findAndModify', 'findandmodify']);
const COLLECTION_COMMANDS = new Set(['drop', 'renameCollection', 'create', 'createIndexes', 'dropIndexes']);
const OP_MSG = 2013;

interface Pending {
  command: string;
  collection: string;
  statements: number;
}

export class WireWriteCounter {
  private counts = new Map<string, CollectionWrites>();
  private sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  /** Listens on a free port of 127.0.0.1 and forwards every connection to target. */
  static async start(target: { host: string; port: number }): Promise<WireWriteCounter> {
    let counter: WireWriteCounter | undefined;
    const server = createServer((client) => counter?.proxy(client, target));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    counter = new WireWriteCounter(server, (server.address() as AddressInfo).port);
    return counter;
  }

  /** The writes counted since the last call, by collection name; counting starts again from zero. */
  take(): Record<string, CollectionWrites> {
    const out = Object.fromEntries([...this.counts].sort(([a], [b]) => a.localeCompare(b)));
    this.counts = new Map();
    return out;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private proxy(client: Socket, target: { host: string; port: number }): void {
    const upstream = connect(target);
    this.sockets.add(client).add(upstream);
    const pending = new Map<number, Pending>();
    client.pipe(upstream);
    upstream.pipe(client);
    messages(client, (msg) => {
      const sections = opMsgSections(msg);
      const head = sections?.body && commandHead(sections.body);
      if (!sections?.body || !head || !(WRITE_COMMANDS.has(head.command) || COLLECTION_COMMANDS.has(head.command))) return;
      // Statements: the document sequence's, else the body's array (documents, updates, deletes).
      const statements =
        head.command.toLowerCase() === 'findandmodify' ? 1 : (sections.sequenced ?? arrayLength(sections.body, ['documents', 'updates', 'deletes']));
      pending.set(msg.readInt32LE(4), { ...head, statements });
    });
    messages(upstream, (msg) => {
      const request = pending.get(msg.readInt32LE(8));
      if (!request) return;
      pending.delete(msg.readInt32LE(8));
      const body = opMsgSections(msg)?.body;
      if (body) this.count(request, BSON.deserialize(body));
    });
    const close = () => {
      client.destroy();
      upstream.destroy();
      this.sockets.delete(client);
      this.sockets.delete(upstream);
    };
    client.on('close', close).on('error', close);
    upstream.on('close', close).on('error', close);
  }

  private count(request: Pending, reply: BSON.Document): void {
    if (reply.ok !== 1) return;
    const c = this.counts.get(request.collection) ?? { inserted: 0, modified: 0, deleted: 0, statements: 0, commands: 0 };
    this.counts.set(request.collection, c);
    const n = Number(reply.n ?? 0);
    switch (request.command) {
      case 'insert':
        c.inserted += n;
        break;
      case 'update':
        c.modified += Number(reply.nModified ?? 0);
        c.inserted += Array.isArray(reply.upserted) ? reply.upserted.length : 0;
        break;
      case 'delete':
        c.deleted += n;
        break;
      case 'findAndModify':
      case 'findandmodify':
        c.modified += Number((reply.lastErrorObject as BSON.Document | undefined)?.n ?? 0);
        break;
      default:
        c.commands++;
        return;
    }
    c.statements += request.statements;
  }
}

/** Calls onMessage with each whole wire-protocol message the socket carries (they start with their length). */
function messages(socket: Socket, onMessage: (msg: Buffer) => void): void {
  let buffered: Buffer = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
    while (buffered.length >= 4) {
      const length = buffered.readInt32LE(0);
      if (buffered.length < length) break;
      onMessage(buffered.subarray(0, length));
      buffered = buffered.subarray(length);
    }
  });
}

/**
 * The sections of an OP_MSG: its body (kind 0) as BSON bytes, and how many documents its
 * document sequences (kind 1: an insert's documents, an update's statements) carry, if it
 * has any. Undefined for other messages.
 */
function opMsgSections(msg: Buffer): { body: Buffer | undefined; sequenced: number | undefined } | undefined {
  if (msg.readInt32LE(12) !== OP_MSG) return undefined;
  const end = msg.length - (msg.readUInt32LE(16) & 1 ? 4 : 0);
  let body: Buffer | undefined;
  let sequenced: number | undefined;
  for (let at = 20; at < end;) {
    const kind = msg[at] as number;
    const size = msg.readInt32LE(at + 1);
    if (kind === 0) body = msg.subarray(at + 1, at + 1 + size);
    else {
      sequenced ??= 0;
      for (let d = msg.indexOf(0, at + 5) + 1; d < at + 1 + size; d += msg.readInt32LE(d)) sequenced++;
    }
    at += 1 + size;
  }
  return { body, sequenced };
}

/** The command's name and collection: the body's first element, read without decoding the rest (an insert's documents). */
function commandHead(body: Buffer): { command: string; collection: string } | undefined {
  if (body[4] !== 0x02) return undefined; // the collection is a string
  const nameEnd = body.indexOf(0, 5);
  const command = body.toString('utf8', 5, nameEnd);
  const length = body.readInt32LE(nameEnd + 1);
  let collection = body.toString('utf8', nameEnd + 5, nameEnd + 5 + length - 1);
  // renameCollection names "db.collection".
  if (command === 'renameCollection') collection = collection.slice(collection.indexOf('.') + 1);
  return { command, collection };
}

/** Fixed sizes of BSON values by type; the others are read from the value itself. */
const FIXED: Record<number, number> = { 0x01: 8, 0x07: 12, 0x08: 1, 0x09: 8, 0x0a: 0, 0x10: 4, 0x11: 8, 0x12: 8, 0x13: 16, 0x7f: 0, 0xff: 0 };

/** The number of elements of the first top-level array named one of `names`, walking the document without decoding it. */
function arrayLength(doc: Buffer, names: string[]): number {
  for (let at = 4; at < doc.length - 1;) {
    const type = doc[at] as number;
    const nameEnd = doc.indexOf(0, at + 1);
    const name = doc.toString('utf8', at + 1, nameEnd);
    const value = nameEnd + 1;
    if (type === 0x04 && names.includes(name)) {
      let count = 0;
      for (let e = value + 4; e < value + doc.readInt32LE(value) - 1; count++) {
        const valueAt = doc.indexOf(0, e + 1) + 1;
        e = valueAt + valueSize(doc, doc[e] as number, valueAt);
      }
      return count;
    }
    at = value + valueSize(doc, type, value);
  }
  return 0;
}

function valueSize(doc: Buffer, type: number, at: number): number {
  const fixed = FIXED[type];
  if (fixed !== undefined) return fixed;
  switch (type) {
    case 0x02:
    case 0x0d:
    case 0x0e:
      return 4 + doc.readInt32LE(at);
    case 0x03:
    case 0x04:
    case 0x0f:
      return doc.readInt32LE(at);
    case 0x05:
      return 5 + doc.readInt32LE(at);
    case 0x0b: {
      const pattern = doc.indexOf(0, at);
      return doc.indexOf(0, pattern + 1) + 1 - at;
    }
    default:
      throw new Error(`BSON type 0x${type.toString(16)} is not walked here`);
  }
}
