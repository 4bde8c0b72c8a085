import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../../config/paths.js';
import type { SplitDescription } from '../../models/evaluation/split.js';
import { until } from '../support/chaos.js';
import { runCli } from '../support/cli.js';
import type { FamilyRow } from '../../client/evaluation/evaluateFamilies.js';

// `moovitamix models evaluate` as a user runs it, on test/fixtures/interactions-small.csv:
// 35 listens of users 1..9 over tracks 101..116, rows ordered by timestamp, with an
// ignored `context` column (one value quoted, with a comma). Each user's history, oldest first:
//   u1: 101 102 103 101        u4: 101 103 107 108 109     u7: 102 105 111 112 101 110
//   u2: 101 102 104 105        u5: 110                     u8: 103 104 106 102 108
//   u3: 102 101 106            u6: 104 104                 u9: 113 114 115 116 113
//
// Leave-last-out, by hand. Held out: u1 101 (both its listens leave training), u2 105,
// u3 106, u4 109, u7 110, u8 108, u9 113 (both listens out). u5 (one listen) and u6 (only
// ever 104) are not evaluated: 7 test users, 35 - 9 = 26 training listens.
// Training listens per track: 102:5, 101:4, 104:4 (u6 twice), 103:3, then 105 106 107 108
// 110 111 112 114 115 116 once each, 109 and 113 never. MostPopular ranks that order (ties:
// the lower id) minus the user's training tracks:
//   u1 (heard 102 103):             101 first                -> rank 1,  NDCG 1
//   u2 (101 102 104):               103 105                  -> rank 2,  1/log2(3) = 0.63093
//   u3 (102 101):                   104 103 105 106          -> rank 4,  1/log2(5) = 0.43068
//   u4 (101 103 107 108):           102 104 105 106 110 111 112 114 115 116 109 -> rank 11: a miss at 10
//   u7 (102 105 111 112 101):       104 103 106 107 108 110  -> rank 6,  1/log2(7) = 0.35621
//   u8 (103 104 106 102):           101 105 107 108          -> rank 4,  0.43068
//   u9 (114 115 116):               102 101 104 103 105 106 107 108 110 111 112 109 113 -> rank 13: a miss at 10
// hit_rate@10 = 5/7 = 0.714286; ndcg@10 = (1 + 0.63093 + 0.43068 + 0.35621 + 0.43068) / 7 = 0.406927.
// At 20 every holdout is found: ndcg@20 adds 1/log2(12) and 1/log2(14), map@10 = (1 + 1/2 + 1/4 + 1/6 + 1/4) / 7.
// The item-kNN figures, and the temporal split's, were checked against an independent
// reimplementation of the splits, of cosine item-kNN and of the metrics (in Python).

const FIXTURE = join(projectRoot, 'test', 'fixtures', 'interactions-small.csv');
const close = (x: number) => Number(x.toFixed(6));
const rounded = (metrics: Record<string, number>) => Object.fromEntries(Object.entries(metrics).map(([k, v]) => [k, close(v)]));

interface Report {
  dataset: { rows: number; users: number; items: number; timestamps: boolean };
  split: SplitDescription;
  rows: FamilyRow[];
}

describe('moovitamix models evaluate', function () {
  this.timeout(120_000);
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'models-evaluate-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, text: string) => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  };

  it('leave-last-out on the fixture: the hand-checked MostPopular figures, item-kNN beside it', async () => {
    const run = await runCli(['models', 'evaluate', '--interactions', FIXTURE, '--families', 'most-popular,item-knn', '--json'], process.env);
    expect(run.code, run.stderr).to.equal(0);
    const report = JSON.parse(run.stdout) as Report;
    expect(report.dataset).to.include({ rows: 35, users: 9, items: 16, timestamps: true });
    expect(report.split).to.deep.equal({
      method: 'leave-last-out',
      seed: 1,
      maxUsers: 10_000,
      testUsers: 7,
      testUsersTotal: 7,
      trainListens: 26,
      holdoutItems: 7,
    });
    expect(report.rows.map((r) => r.family)).to.deep.equal(['most-popular', 'item-knn']);
    const [mp, knn] = report.rows as [FamilyRow, FamilyRow];
    expect(rounded(mp.metrics!)).to.deep.equal({
      'hit_rate@10': 0.714286,
      'recall@10': 0.714286,
      'ndcg@10': 0.406927,
      'map@10': close((1 + 1 / 2 + 1 / 4 + 1 / 6 + 1 / 4) / 7),
      'hit_rate@20': 1,
      'recall@20': 1,
      'ndcg@20': 0.484298,
      'map@20': 0.3335,
      // 15 of the 16 tracks in someone's top 10 (only 113 never is), all of them in a top 20.
      'coverage@10': 0.9375,
      'coverage@20': 1,
      'mean_popularity@10': 1.557143,
      'mean_popularity@20': 1.292135,
      users: 7,
    });
    expect(rounded(knn.metrics!)).to.deep.equal({
      'hit_rate@10': 0.714286,
      'recall@10': 0.714286,
      'ndcg@10': 0.328943,
      'map@10': 0.208333,
      'hit_rate@20': 1,
      'recall@20': 1,
      'ndcg@20': 0.406313,
      'map@20': 0.232309,
      'coverage@10': 0.9375,
      'coverage@20': 1,
      'mean_popularity@10': 1.557143,
      'mean_popularity@20': 1.292135,
      users: 7,
    });
    expect(knn.params).to.deep.equal({ neighbors: 50, similarity: 'cosine' });
    expect(close(knn.ndcgUplift!)).to.equal(close(0.328943113 / 0.406927151 - 1));
    for (const row of report.rows) expect(row.peakRssMb).to.be.at.least(row.baseRssMb).and.greaterThan(10);
    expect(run.stderr).to.include('Split leave-last-out, seed 1: 7 of 7 qualifying users evaluated');
  });

  it('temporal split on the fixture, and the table for people', async () => {
    const run = await runCli(['models', 'evaluate', '--interactions', FIXTURE, '--split', 'temporal', '--families', 'most-popular', '--json'], process.env);
    expect(run.code, run.stderr).to.equal(0);
    const report = JSON.parse(run.stdout) as Report;
    // 35 listens, the latest 7 held out: those after u8's 3rd listen (1735700820). Test users
    // u4 {109}, u7 {101, 110}, u8 {102, 108}, u9 {116} (113 was heard before the cut).
    expect(report.split).to.deep.equal({
      method: 'temporal',
      seed: 1,
      maxUsers: 10_000,
      fraction: 0.2,
      cutTime: 1735700820,
      testUsers: 4,
      testUsersTotal: 4,
      trainListens: 28,
      holdoutItems: 6,
    });
    expect(rounded(report.rows[0]!.metrics!)).to.include({
      'hit_rate@10': 0.5,
      'ndcg@10': 0.360395,
      'map@10': 0.273214,
      'ndcg@20': 0.495793,
      'coverage@10': 0.875,
      'mean_popularity@20': 1.64,
    });

    const table = await runCli(
      ['models', 'evaluate', '--interactions', FIXTURE, '--families', 'item-knn', '--param', 'item-knn.neighbors=2', '--threads', '1'],
      process.env,
    );
    expect(table.code, table.stderr).to.equal(0);
    const lines = table.stdout.split('\n');
    expect(lines[0]).to.equal(`Dataset ${FIXTURE}: 35 listens, 9 users, 16 items`);
    expect(lines.find((l) => l.startsWith('family'))).to.match(
      /^family +ndcg@10 +recall@10 +hit@10 +map@10 +ndcg@20 +cov@20 +pop@20 +ndcg@10 vs MP +train +eval +peak MB +params$/,
    );
    expect(lines.find((l) => l.startsWith('most-popular'))).to.match(/^most-popular +0\.4069 +0\.7143 +0\.7143 +0\.3095 +0\.4843 +1\.0000 +1\.3 +baseline /);
    expect(lines.find((l) => l.startsWith('item-knn'))).to.match(/ neighbors=2 similarity=cosine$/);

    // Every family by default, each fitted with its default parameters and seed 1: the same
    // numbers on every run (ALS's factors come from the seed; EASE is a closed form).
    const all = await runCli(['models', 'evaluate', '--interactions', FIXTURE, '--threads', '1'], process.env);
    expect(all.code, all.stderr).to.equal(0);
    const rows = all.stdout.split('\n');
    expect(rows.filter((l) => /^(most-popular|item-knn|als|ease) /.test(l)).map((l) => l.split(/ +/).slice(0, 5).join(' '))).to.deep.equal([
      'most-popular 0.4069 0.7143 0.7143 0.3095',
      'item-knn 0.3289 0.7143 0.7143 0.2083',
      'als 0.5257 1.0000 1.0000 0.3810',
      'ease 0.3817 0.7143 0.7143 0.2798',
    ]);
    expect(rows.find((l) => l.startsWith('als'))).to.match(/ factors=64 iterations=15 regularization=0\.01 alpha=1 cgSteps=3 seed=1$/);
  });

  it("reads anyone's CSV: the columns named by --user-col, --item-col and --time-col", async () => {
    const [header, ...rows] = readFileSync(FIXTURE, 'utf8').trimEnd().split('\n');
    expect(header).to.equal('timestamp,user_id,item_id,context');
    const books = write('books.csv', ['read_at,Reader,book_id,context', ...rows].join('\n'));
    const run = await runCli(
      [
        'models',
        'evaluate',
        '--interactions',
        books,
        '--user-col',
        'reader',
        '--item-col',
        'book_id',
        '--time-col',
        'read_at',
        '--split',
        'temporal',
        '--families',
        'most-popular',
        '--json',
      ],
      process.env,
    );
    expect(run.code, run.stderr).to.equal(0);
    const report = JSON.parse(run.stdout) as Report;
    // The fixture's temporal figures (see above), from the same rows under other names.
    expect(report.dataset).to.include({ rows: 35, users: 9, items: 16, timestamps: true });
    expect(rounded(report.rows[0]!.metrics!)).to.include({ 'hit_rate@10': 0.5, 'ndcg@10': 0.360395, 'map@10': 0.273214 });

    const unnamed = await runCli(['models', 'evaluate', '--interactions', books], process.env);
    expect(unnamed.code).to.equal(2);
    expect(unnamed.stderr).to.include(
      `${books} line 1: the header lacks columns user_id, item_id (got: read_at,reader,book_id,context)\nName the columns with --user-col, --item-col (and --time-col).`,
    );
    const noSuchTime = await runCli(
      ['models', 'evaluate', '--interactions', books, '--user-col', 'reader', '--item-col', 'book_id', '--time-col', 'finished_at'],
      process.env,
    );
    expect(noSuchTime.code).to.equal(2);
    expect(noSuchTime.stderr).to.include('the header lacks column finished_at');
  });

  it('reports a family past its documented limit on this data as skipped, with the reason, and exits 0', async () => {
    const run = await runCli(
      ['models', 'evaluate', '--interactions', FIXTURE, '--families', 'ease,item-knn', '--param', 'ease.maxItems=10', '--threads', '1', '--json'],
      process.env,
    );
    expect(run.code, run.stderr).to.equal(0);
    const report = JSON.parse(run.stdout) as Report;
    expect(report.rows.map((r) => [r.family, r.metrics === null, r.skipped ?? null, r.error ?? null])).to.deep.equal([
      ['most-popular', false, null, null],
      [
        'ease',
        true,
        'EASE keeps a dense item x item matrix: the catalogue has 16 items, more than maxItems 10 (raise maxItems, or use item-knn, rp3beta or als)',
        null,
      ],
      ['item-knn', false, null, null],
    ]);
    expect(run.stderr).to.include('ease: skipped: EASE keeps a dense item x item matrix');
    const table = await runCli(
      ['models', 'evaluate', '--interactions', FIXTURE, '--families', 'ease', '--param', 'ease.maxItems=10', '--threads', '1'],
      process.env,
    );
    expect(table.code, table.stderr).to.equal(0);
    expect(table.stdout.split('\n').find((l) => l.startsWith('ease '))).to.match(/^ease +- +- +- +- +- +- +- +skipped /);
    expect(table.stdout).to.include('ease skipped: EASE keeps a dense item x item matrix: the catalogue has 16 items, more than maxItems 10');
  });

  it('--tune searches each grid on a validation split, refits the best and marks the candidate best on validation', async () => {
    const run = await runCli(
      [
        'models',
        'evaluate',
        '--interactions',
        FIXTURE,
        '--families',
        'item-knn,rp3beta',
        '--param',
        'item-knn.neighbors=5',
        '--tune',
        '--threads',
        '1',
        '--json',
      ],
      process.env,
    );
    expect(run.code, run.stderr).to.equal(0);
    const report = JSON.parse(run.stdout) as Report;
    const [mp, knn, rp3] = report.rows as [FamilyRow, FamilyRow, FamilyRow];
    // MostPopular has nothing to tune; item-kNN's neighbours are held at 5, its 3 similarities searched; RP3beta's 16 settings.
    expect(mp.tuning!.tried).to.have.length(1);
    expect(knn.tuning!.tried.map((t) => t.params.similarity)).to.have.members(['cosine', 'bm25', 'bm25-user']);
    for (const t of knn.tuning!.tried) expect(t.params.neighbors).to.equal(5);
    expect(rp3.tuning!.tried).to.have.length(16);
    for (const row of [knn, rp3]) {
      const tuning = row.tuning!;
      expect(tuning.untried).to.equal(0);
      expect(tuning.validationNdcg).to.equal(Math.max(...tuning.tried.map((t) => t.validationNdcg)));
      // The row's parameters are the chosen setting's, refitted on the whole training part and tested once.
      expect(row.params).to.deep.include(tuning.chosen);
      expect(tuning.validationUsers).to.be.greaterThan(0);
      expect(tuning.validationTrainListens).to.be.below(report.split.trainListens);
    }
    const picked = report.rows.filter((r) => r.picked);
    expect(picked.map((r) => r.family)).to.have.length(1);
    expect(picked[0]!.tuning!.validationNdcg).to.equal(Math.max(knn.tuning!.validationNdcg, rp3.tuning!.validationNdcg));

    const table = await runCli(
      ['models', 'evaluate', '--interactions', FIXTURE, '--families', 'rp3beta', '--tune', '--tune-budget', '0', '--threads', '1'],
      process.env,
    );
    expect(table.code, table.stderr).to.equal(0);
    const lines = table.stdout.split('\n');
    expect(lines.find((l) => l.startsWith('family'))).to.match(/^family +val ndcg@10 +tried +ndcg@10 /);
    // A spent budget: the defaults only, 1 of the grid's 16 settings (the defaults are one of them).
    expect(lines.find((l) => l.startsWith('rp3beta *'))).to.match(/^rp3beta \* +\d\.\d{4} +1\/16 /);
    expect(table.stdout).to.include('Tuned on a validation split');
  });

  it('an evaluation killed mid-fit takes its family process with it', async () => {
    // 4,000 users x 40 tracks: ALS with 512 factors and 1,000 iterations fits for minutes, unless stopped.
    const lines = ['user_id,item_id'];
    for (let u = 1; u <= 4000; u++) for (let n = 0; n < 8; n++) lines.push(`${u},${((u * 7 + n * 13) % 40) + 1}`);
    const csv = write('long-fit.csv', `${lines.join('\n')}\n`);
    // Its output to a file, not a pipe: a pipe closed with the evaluation would end its family
    // process on the next write, whatever this test checks.
    const log = join(dir, 'long-fit.log');
    const out = openSync(log, 'w');
    const cli = spawn(
      process.execPath,
      [
        join(projectRoot, 'bin', 'moovitamix.js'),
        'models',
        'evaluate',
        '--interactions',
        csv,
        '--families',
        'als',
        '--param',
        'als.iterations=1000',
        '--param',
        'als.factors=512',
        '--threads',
        '1',
      ],
      { stdio: ['ignore', out, out] },
    );
    closeSync(out);
    const stderr = () => readFileSync(log, 'utf8');
    const exited = new Promise((resolve) => cli.once('exit', resolve));
    try {
      await until(() => stderr().includes('als: fitting on'), 60_000, 'the evaluation starts on ALS');
      // The ALS process, not MostPopular's on its way out: the child that has fitted for a second of CPU.
      let family: number[] = [];
      await until(
        () => (family = childrenOf(cli.pid as number).filter((pid) => alive(pid) && cpuSeconds(pid) >= 1)).length === 1,
        60_000,
        'the ALS family process fits',
      );
      cli.kill('SIGKILL');
      await exited;
      await until(() => !alive(family[0] as number), 30_000, `the family process ${family[0]} exits after its parent`);
    } finally {
      cli.kill('SIGKILL');
    }
  });

  it('refuses bad usage with exit status 2 and says why', async () => {
    const noTime = write('no-time.csv', 'user_id,item_id\n1,1\n1,2\n');
    const cases: [string[], RegExp][] = [
      [[], /models evaluate needs --interactions FILE\.csv/],
      [['--interactions', FIXTURE, '--families', 'most-popular,deep-net'], /--families .*unknown: deep-net/],
      [['--interactions', FIXTURE, '--split', 'random'], /--split must be one of leave-last-out, temporal, got "random"/],
      [['--interactions', FIXTURE, '--max-users', '0'], /--max-users must be a whole number from 1/],
      [['--interactions', FIXTURE, '--param', 'item-knn.neighbors'], /--param takes FAMILY\.KEY=VALUE/],
      [['--interactions', FIXTURE, '--families', 'most-popular', '--param', 'item-knn.neighbors=5'], /item-knn is not among the evaluated families/],
      [['--interactions', FIXTURE, '--param', 'als.bogus=1'], /--param: als: unknown als parameter "bogus"/],
      [['--interactions', FIXTURE, '--param', 'item-knn.neighbors=0'], /--param: item-knn: .*neighbors/],
      [['--interactions', FIXTURE, '--test-fraction', '0.1'], /--test-fraction applies to --split temporal only/],
      [['--interactions', join(dir, 'missing.csv')], /cannot read --interactions .*missing\.csv: ENOENT/],
      [['--interactions', noTime, '--split', 'temporal'], /--split temporal needs a timestamp column/],
      [['--interactions', FIXTURE, '--item-col', ''], /--item-col takes a column name of the CSV header/],
      [['--interactions', FIXTURE, '--user-col', 'item_id'], /the user, item and time columns must be three different columns/],
      [['--interactions', FIXTURE, '--tune-budget', '10'], /--tune-budget applies with --tune only/],
      [['--interactions', FIXTURE, '--tune', '--tune-budget', 'soon'], /--tune-budget must be a whole number from 0/],
    ];
    for (const [args, message] of cases) {
      const run = await runCli(['models', 'evaluate', ...args], process.env);
      expect(run.code, `${args.join(' ')}: ${run.stderr}`).to.equal(2);
      expect(run.stderr).to.match(message);
      expect(run.stdout).to.equal('');
    }
    const help = await runCli(['models', 'evaluate', '--help'], process.env);
    expect(help.code).to.equal(0);
    expect(help.stdout).to.match(/^Usage: moovitamix models evaluate --interactions FILE\.csv/);
  });

  it('fails with the line of a malformed row, and when nobody can be evaluated', async () => {
    const bad = write('bad.csv', 'user_id,item_id\n1,10\n1,11\n2,ten\n');
    const run = await runCli(['models', 'evaluate', '--interactions', bad], process.env);
    expect(run.code).to.equal(1);
    expect(run.stderr).to.include(`moovitamix: ${bad} line 4: item_id "ten" is not a non-negative integer`);
    const single = write('single.csv', 'user_id,item_id\n1,10\n2,10\n2,10\n');
    const none = await runCli(['models', 'evaluate', '--interactions', single], process.env);
    expect(none.code).to.equal(1);
    expect(none.stderr).to.match(/no user qualifies for evaluation with the leave-last-out split/);
  });
});

/** Pids of a process's children (Linux: /proc/PID/task/PID/children). */
function childrenOf(pid: number): number[] {
  return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
}

/** User and system CPU seconds of a process (Linux: /proc/PID/stat, in clock ticks of 1/100 s). */
function cpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8')
      .replace(/^.*\) /, '')
      .split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

/** Running: listed, and not a zombie waiting for a reaper. */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}
