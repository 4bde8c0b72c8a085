import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PartitionFiles, partitionOf } from '../../activities/ingest/merge/partitions.js';

describe('merge partitions', () => {
  it('send a key always to the same partition, and spread keys evenly', () => {
    expect(partitionOf('12345', 7)).to.equal(partitionOf('12345', 7));
    const sizes = new Array(8).fill(0);
    for (let i = 1; i <= 80_000; i++) sizes[partitionOf(String(i), 8)]++;
    for (const n of sizes) expect(n).to.be.within(9_000, 11_000);
  });

  it('give back every line of a partition, in the order written', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'moovitamix-partitions-'));
    try {
      const files = new PartitionFiles(dir, 'test', 3);
      const written: [string, number][] = [];
      for (let i = 0; i < 3000; i++) {
        const key = String(i % 500);
        written.push([key, i]);
        await files.write(key, `${key}\t${i}`);
      }
      await files.close();
      const read: [string, number][] = [];
      for (let b = 0; b < 3; b++) {
        const lines: [string, number][] = [];
        for (const line of await files.lines(b)) {
          const [key, i] = line.split('\t');
          lines.push([key as string, Number(i)]);
        }
        expect(lines.every(([key]) => partitionOf(key, 3) === b)).to.equal(true);
        expect(lines.map(([, i]) => i)).to.deep.equal([...lines.map(([, i]) => i)].sort((x, y) => x - y));
        read.push(...lines);
      }
      expect(read.sort((a, b) => a[1] - b[1])).to.deep.equal(written);
      // Held in memory instead, the same lines per partition.
      const held = new PartitionFiles(dir, 'held', 3, true);
      for (const [key, i] of written) await held.write(key, `${key}\t${i}`);
      await held.close();
      for (let b = 0; b < 3; b++) expect(await held.lines(b)).to.deep.equal(await files.lines(b));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
