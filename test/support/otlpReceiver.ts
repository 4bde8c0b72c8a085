import { createServer, type Server } from 'node:http';

/** A span as an OTLP/HTTP exporter sent it, with its service. */
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string | undefined;
  name: string;
  service: string;
  attributes: Record<string, string | number | boolean>;
  startNs: bigint;
}

export interface OtlpReceiver {
  /** The base URL to give as OTEL_EXPORTER_OTLP_ENDPOINT. */
  url: string;
  spans: ReceivedSpan[];
  close(): Promise<void>;
}

type AnyValue = { stringValue?: string; intValue?: string | number; boolValue?: boolean; doubleValue?: number };
type KeyValue = { key: string; value: AnyValue };

const valueOf = (v: AnyValue) => v.stringValue ?? (v.intValue !== undefined ? Number(v.intValue) : (v.boolValue ?? v.doubleValue ?? ''));
const attributes = (list: KeyValue[] | undefined) => Object.fromEntries((list ?? []).map((a) => [a.key, valueOf(a.value)]));

/**
 * An OpenTelemetry collector's OTLP/HTTP JSON endpoint (POST /v1/traces), in the test's
 * process: what the worker and the CLI export, as they would to a real collector.
 */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/traces' || !String(req.headers['content-type']).includes('json')) {
        res.writeHead(415).end();
        return;
      }
      const payload = JSON.parse(body) as {
        resourceSpans: {
          resource?: { attributes?: KeyValue[] };
          scopeSpans: {
            spans: { traceId: string; spanId: string; parentSpanId?: string; name: string; attributes?: KeyValue[]; startTimeUnixNano: string }[];
          }[];
        }[];
      };
      for (const rs of payload.resourceSpans) {
        const service = String(attributes(rs.resource?.attributes)['service.name'] ?? '');
        for (const ss of rs.scopeSpans) {
          for (const s of ss.spans) {
            spans.push({
              traceId: s.traceId,
              spanId: s.spanId,
              parentSpanId: s.parentSpanId || undefined,
              name: s.name,
              service,
              attributes: attributes(s.attributes),
              startNs: BigInt(s.startTimeUnixNano),
            });
          }
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  return {
    url: `http://127.0.0.1:${address.port}`,
    spans,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The tree under `root`, one line per span (children in start order), for messages and docs. */
export function spanTree(spans: ReceivedSpan[], root: ReceivedSpan, collapse = 3): string {
  const children = new Map<string, ReceivedSpan[]>();
  for (const s of spans) if (s.parentSpanId) children.set(s.parentSpanId, [...(children.get(s.parentSpanId) ?? []), s]);
  const lines: string[] = [];
  const walk = (span: ReceivedSpan, depth: number) => {
    lines.push(`${'  '.repeat(depth)}${span.name} [${span.service}]`);
    const kids = (children.get(span.spanId) ?? []).sort((a, b) => (a.startNs < b.startNs ? -1 : 1));
    // Runs of same-named leaves (a page's requests, a command per batch) collapse into one line.
    let i = 0;
    while (i < kids.length) {
      const kid = kids[i] as ReceivedSpan;
      let j = i;
      while (j < kids.length && (kids[j] as ReceivedSpan).name === kid.name && !children.has((kids[j] as ReceivedSpan).spanId)) j++;
      if (j - i >= collapse) {
        lines.push(`${'  '.repeat(depth + 1)}${kid.name} [${kid.service}] x${j - i}`);
        i = j;
      } else {
        walk(kid, depth + 1);
        i++;
      }
    }
  };
  walk(root, 0);
  return lines.join('\n');
}
