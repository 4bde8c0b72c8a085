import { PAGE_MIN, SIZE_DEFAULT, SIZE_MAX, SIZE_MIN } from '../sources/contract.js';

/** One entry of FastAPI's 422 body (pydantic v2 error format). */
export interface ValidationIssue {
  type: string;
  loc: ['query', string];
  msg: string;
  input: string;
  ctx?: Record<string, number>;
}

export type PageQuery = { ok: true; page: bigint; size: number } | { ok: false; detail: ValidationIssue[] };

// pydantic's lax int parsing of a query string: surrounding spaces, a sign, and a
// zero fraction ("3.0") are accepted; anything else is `int_parsing`.
const LAX_INT = /^\s*([+-]?\d+)(?:\.0*)?\s*$/;

function parseInt(name: string, raw: string, issues: ValidationIssue[]): bigint | undefined {
  const m = LAX_INT.exec(raw);
  if (!m) {
    issues.push({
      type: 'int_parsing',
      loc: ['query', name],
      msg: 'Input should be a valid integer, unable to parse string as an integer',
      input: raw,
    });
    return undefined;
  }
  return BigInt(m[1] as string);
}

/**
 * Reads `page` and `size` as FastAPI does: the last occurrence of a parameter wins,
 * both are checked in declaration order, and every problem is reported at once.
 * Page is a bigint because FastAPI accepts any integer >= 1 and echoes it back.
 */
export function parsePageQuery(params: URLSearchParams): PageQuery {
  const issues: ValidationIssue[] = [];
  const pageRaw = params.getAll('page').at(-1);
  const sizeRaw = params.getAll('size').at(-1);

  let page = BigInt(PAGE_MIN);
  if (pageRaw !== undefined) {
    const n = parseInt('page', pageRaw, issues);
    if (n !== undefined && n < BigInt(PAGE_MIN)) {
      issues.push(bound('greater_than_equal', 'page', pageRaw, 'ge', PAGE_MIN));
    } else if (n !== undefined) {
      page = n;
    }
  }

  let size = SIZE_DEFAULT;
  if (sizeRaw !== undefined) {
    const n = parseInt('size', sizeRaw, issues);
    if (n !== undefined && n < BigInt(SIZE_MIN)) {
      issues.push(bound('greater_than_equal', 'size', sizeRaw, 'ge', SIZE_MIN));
    } else if (n !== undefined && n > BigInt(SIZE_MAX)) {
      issues.push(bound('less_than_equal', 'size', sizeRaw, 'le', SIZE_MAX));
    } else if (n !== undefined) {
      size = Number(n);
    }
  }

  return issues.length > 0 ? { ok: false, detail: issues } : { ok: true, page, size };
}

function bound(type: string, name: string, input: string, key: 'ge' | 'le', limit: number): ValidationIssue {
  const words = key === 'ge' ? 'greater than or equal to' : 'less than or equal to';
  return { type, loc: ['query', name], msg: `Input should be ${words} ${limit}`, input, ctx: { [key]: limit } };
}
