import { createHash, hash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/*
 * A page body's digest, tied to the code that stages it. Two bodies with the same digest
 * stage the same records with the same facts and the same page digest, so a page whose
 * body is the one the last clean merge staged need not be staged again
 * (fetchPageRange.ts). The code is part of the digest: a deploy that validates or
 * describes records differently must stage every page again, so the compiled sources and
 * staging modules are hashed in, with the validator (valibot), once per process (main
 * and staging threads alike).
 */

const STAGING_MODULES = ['stagePage.js', 'validate.js', 'recordFacts.js', 'canonicalJson.js', 'pageEnvelope.js', 'bodyDigest.js'];

let stager: string | undefined;

/** What stages a page: the compiled source descriptions and staging modules, hashed. */
export function stagerVersion(): string {
  if (stager) return stager;
  const h = createHash('sha256');
  const here = fileURLToPath(new URL('.', import.meta.url));
  const sources = fileURLToPath(new URL('../../sources/', import.meta.url));
  const files = [
    ...readdirSync(sources)
      .filter((f) => f.endsWith('.js'))
      .sort()
      .map((f) => join(sources, f)),
    ...STAGING_MODULES.map((f) => join(here, f)),
    fileURLToPath(new URL('../../stores/stagedRecords.js', import.meta.url)),
    fileURLToPath(new URL('../../contracts/names.js', import.meta.url)),
    // The schemas' validator: an upgrade may accept or refuse records differently.
    fileURLToPath(import.meta.resolve('valibot')),
  ];
  for (const file of files) h.update(file.slice(file.lastIndexOf('/') + 1)).update(readFileSync(file));
  stager = h.digest('hex').slice(0, 16);
  return stager;
}

/** A page body's digest (32 hex digits), under the code that stages it. */
export function bodyDigest(text: string): string {
  return hash('sha256', `${stagerVersion()}\n${text}`, 'hex').slice(0, 32);
}
