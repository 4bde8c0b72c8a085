// Records workflow histories for the replay test:
//   node dist/test/replay/record.js <name> <workflowId> [<name> <workflowId> ...]
// writes test/replay/histories/<name>.json, {"workflowId", "history"} (the latest run of
// each workflow id: replay needs the id, which workflows use to name children), from
// the Temporal server of TEMPORAL_ADDRESS. Record again only to add a history: the
// committed ones stand for workflows that ran with earlier code, which today's code
// must still replay.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../config/config.js';
import { projectRoot } from '../../config/paths.js';
import { ensureTemporal } from '../../stack/binaries.js';

const args = process.argv.slice(2);
if (args.length === 0 || args.length % 2 !== 0) {
  console.error('usage: node dist/test/replay/record.js <name> <workflowId> [<name> <workflowId> ...]');
  process.exit(2);
}
const config = loadConfig();
// The CLI writes proto3 JSON, which historyFromJSON reads back.
const temporal = await ensureTemporal(config.cacheDir, console.log);
for (let i = 0; i < args.length; i += 2) {
  const [name, workflowId] = [args[i] as string, args[i + 1] as string];
  const json = execFileSync(
    temporal.path,
    ['workflow', 'show', '--workflow-id', workflowId, '--address', config.temporalAddress, '--namespace', config.temporalNamespace, '--output', 'json'],
    { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
  );
  const history = JSON.parse(json) as { events: unknown[] };
  const file = join(projectRoot, 'test', 'replay', 'histories', `${name}.json`);
  writeFileSync(file, `${JSON.stringify({ workflowId, history }, null, 1)}\n`);
  console.log(`${workflowId}: ${history.events.length} events -> ${file}`);
}
