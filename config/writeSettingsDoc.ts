// Writes the settings table of docs/configuration.md from config/settings.ts:
//   node dist/config/writeSettingsDoc.js
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from './paths.js';
import { settingsTable } from './settings.js';

const START = '<!-- settings table: generated from config/settings.ts -->\n';
const END = '\n<!-- end of settings table -->';
const path = join(projectRoot, 'docs', 'configuration.md');
const page = readFileSync(path, 'utf8');
const [before, rest] = page.split(START);
const after = rest?.split(END)[1];
if (before === undefined || after === undefined) throw new Error(`${path} has no settings table markers`);
writeFileSync(path, `${before}${START}${settingsTable()}${END}${after}`);
console.log(`wrote the settings table of ${path}`);
