import { expect } from 'chai';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { projectRoot } from '../../config/paths.js';

// The product's folders stand in layers, and an import only points down: a folder may use
// those below it, never one beside or above it. docs/architecture.md draws the same picture.
const LAYERS: readonly (readonly string[])[] = [
  ['contracts'],
  ['sources', 'models'],
  ['config'],
  ['stores'],
  ['activities'],
  ['workflows'],
  ['simulator', 'stack'],
  ['service', 'worker'],
  ['client'],
];

interface Import {
  file: string;
  from: string;
  to: string;
  typeOnly: boolean;
}

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [join(dir, e.name)] : [],
  );
}

/** Every relative import or re-export of one product folder from another (models/wasm is AssemblyScript, not product TypeScript). */
function crossFolderImports(root: string): Import[] {
  const folders = LAYERS.flat();
  const found: Import[] = [];
  for (const folder of folders) {
    for (const file of sources(join(root, folder))) {
      if (relative(root, file).startsWith('models/wasm/')) continue;
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/^(import|export)(\s+type)?[^'"]*?from\s+['"](\.[^'"]+)['"]/gm)) {
        const to = relative(root, resolve(dirname(file), m[3] as string)).split('/')[0] as string;
        if (to !== folder) found.push({ file: relative(root, file), from: folder, to, typeOnly: m[2] !== undefined });
      }
    }
  }
  return found;
}

/** Imports that break the layering: to an unknown folder, or to one not strictly below. */
function violations(imports: readonly Import[]): string[] {
  const rank = new Map(LAYERS.flatMap((names, i) => names.map((name) => [name, i] as const)));
  return imports
    .filter((i) => !rank.has(i.to) || (rank.get(i.to) as number) >= (rank.get(i.from) as number))
    .map((i) => `${i.file} imports ${i.to}/ (${i.from}/ may import only ${LAYERS.slice(0, rank.get(i.from)).flat().join(', ') || 'nothing of ours'})`);
}

describe('layers', () => {
  const imports = crossFolderImports(projectRoot);

  it('finds the imports between folders it checks', () => {
    // A reader that found nothing would pass the checks below whatever the code does.
    expect(imports.length).to.be.greaterThan(100);
    expect(imports.some((i) => i.from === 'workflows' && i.to === 'activities')).to.equal(true);
    expect(imports.some((i) => i.from === 'client' && i.to === 'workflows')).to.equal(true);
  });

  it('every import points to a lower layer (so no folders import each other)', () => {
    expect(violations(imports)).to.deep.equal([]);
  });

  it('no two modules import each other, directly or through others (type imports count)', () => {
    const edges = new Map<string, string[]>();
    for (const folder of LAYERS.flat()) {
      for (const file of sources(join(projectRoot, folder))) {
        const at = relative(projectRoot, file);
        if (at.startsWith('models/wasm/')) continue;
        const text = readFileSync(file, 'utf8');
        const to = [...text.matchAll(/^(?:import|export)[^'"]*?from\s+['"](\.[^'"]+)['"]/gm)].map((m) =>
          relative(projectRoot, resolve(dirname(file), m[1] as string)).replace(/\.js$/, '.ts'),
        );
        edges.set(at, to);
      }
    }
    expect(edges.size).to.be.greaterThan(150);
    expect(cycles(edges)).to.deep.equal([]);
    expect(
      cycles(
        new Map([
          ['a.ts', ['b.ts']],
          ['b.ts', ['c.ts']],
          ['c.ts', ['a.ts']],
          ['d.ts', ['a.ts']],
        ]),
      ),
      'a planted cycle',
    ).to.deep.equal([['a.ts', 'b.ts', 'c.ts']]);
  });

  it('refuses an import upwards or sideways', () => {
    const planted: Import[] = [
      { file: 'models/x.ts', from: 'models', to: 'activities', typeOnly: true },
      { file: 'models/y.ts', from: 'models', to: 'sources', typeOnly: false },
      { file: 'contracts/z.ts', from: 'contracts', to: 'models', typeOnly: true },
      { file: 'config/ok.ts', from: 'config', to: 'models', typeOnly: false },
    ];
    expect(violations(planted)).to.deep.equal([
      'models/x.ts imports activities/ (models/ may import only contracts)',
      'models/y.ts imports sources/ (models/ may import only contracts)',
      'contracts/z.ts imports models/ (contracts/ may import only nothing of ours)',
    ]);
  });

  it('only stores/ names a collection: no collection by a literal name elsewhere, and every name a collection is opened by is declared there', () => {
    const literal: string[] = [];
    const declaredAt = new Map<string, string>();
    const opened = new Map<string, string>();
    for (const folder of LAYERS.flat()) {
      for (const file of sources(join(projectRoot, folder))) {
        const text = readFileSync(file, 'utf8');
        const at = relative(projectRoot, file);
        for (const _ of text.matchAll(/\.collection(?:<[^>]*>)?\(\s*(['"`])/g)) if (!at.startsWith('stores/')) literal.push(at);
        for (const m of text.matchAll(/\.collection(?:<[^>]*>)?\(\s*([A-Z][A-Z0-9_]*)\s*\)/g)) opened.set(m[1] as string, at);
        for (const m of text.matchAll(/^export const ([A-Z][A-Z0-9_]*) = '[a-z][a-z0-9_]*';/gm)) declaredAt.set(m[1] as string, at);
      }
    }
    expect(literal, 'collections opened by a literal name').to.deep.equal([]);
    expect(opened.size, 'collections opened by a declared name').to.be.greaterThan(8);
    const elsewhere = [...opened.keys()]
      .filter((name) => !declaredAt.get(name)?.startsWith('stores/'))
      .map((name) => `${name} (opened in ${opened.get(name)}, declared in ${declaredAt.get(name) ?? 'no module'})`);
    expect(elsewhere, 'collection names declared outside stores/').to.deep.equal([]);
  });

  it('workflows take only types from other folders, and values only from contracts (their code runs in the deterministic sandbox)', () => {
    const runtime = imports.filter((i) => i.from === 'workflows' && !i.typeOnly && i.to !== 'contracts').map((i) => i.file);
    expect(runtime).to.deep.equal([]);
    expect(
      imports.some((i) => i.from === 'workflows' && !i.typeOnly && i.to === 'contracts'),
      'the recommend limit',
    ).to.equal(true);
  });
});

/** The groups of modules that reach each other through their imports (Tarjan's strongly connected components of two or more). */
function cycles(edges: ReadonlyMap<string, readonly string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!edges.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) as number, low.get(w) as number));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v) as number, index.get(w) as number));
    }
    if (low.get(v) !== index.get(v)) return;
    const group: string[] = [];
    let w: string;
    do {
      w = stack.pop() as string;
      onStack.delete(w);
      group.push(w);
    } while (w !== v);
    if (group.length > 1) found.push(group.sort());
  };
  for (const v of edges.keys()) if (!index.has(v)) visit(v);
  return found;
}
