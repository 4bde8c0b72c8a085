import type { IncomingMessage } from 'node:http';
import type { Reply } from './route.js';

export type BodyResult = { ok: true; value: unknown } | { ok: false; reply: Reply };

const JSON_TYPE = /^application\/json\s*(?:;\s*charset\s*=\s*"?utf-8"?\s*)?$/i;

/**
 * A request's JSON body, read up to `maxBytes`. Refused before anything is parsed: another
 * content type (415; it also keeps a cross-site form from posting here, as a browser
 * sends application/json across origins only after a preflight this service never
 * answers), a declared or actual size past the cap (413: what is past the cap is drained,
 * never kept), bytes that are not UTF-8 or text that is not JSON (400).
 */
export function readJsonBody(req: IncomingMessage, maxBytes: number): Promise<BodyResult> {
  const refuse = (status: number, error: string): BodyResult => ({ ok: false, reply: { status, body: { error } } });
  const type = req.headers['content-type'];
  if (type === undefined || !JSON_TYPE.test(type.trim())) return Promise.resolve(refuse(415, 'the body must be JSON, sent as Content-Type: application/json'));
  const declared = req.headers['content-length'];
  const tooLarge = `the body must be at most ${maxBytes} bytes`;
  if (declared !== undefined && Number(declared) > maxBytes) {
    req.resume();
    return Promise.resolve(refuse(413, tooLarge));
  }
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (result: BodyResult) => {
      if (done) return;
      done = true;
      chunks.length = 0;
      resolve(result);
    };
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > maxBytes) return finish(refuse(413, tooLarge));
      chunks.push(chunk);
    });
    req.on('error', () => finish(refuse(400, 'the body could not be read')));
    req.on('end', () => {
      if (done) return;
      const bytes = Buffer.concat(chunks);
      if (bytes.length === 0) return finish(refuse(400, 'the body is empty: send one event, or {"events": [...]}'));
      let text: string;
      try {
        text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
      } catch {
        return finish(refuse(400, 'the body is not UTF-8 text'));
      }
      try {
        finish({ ok: true, value: JSON.parse(text) as unknown });
      } catch {
        finish(refuse(400, 'the body is not valid JSON'));
      }
    });
  });
}
