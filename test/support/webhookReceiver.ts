import { createServer, type Server } from 'node:http';

/** A local webhook endpoint: records every POST body and answers with the statuses it is given, in turn (then 200). */
export interface WebhookReceiver {
  url: string;
  /** Bodies received (parsed JSON) with the status they were answered with. */
  received: { status: number; body: { text: string } }[];
  close(): Promise<void>;
}

export async function startWebhookReceiver(path: string, statuses: number[] = []): Promise<WebhookReceiver> {
  const queue = [...statuses];
  const received: WebhookReceiver['received'] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const status = req.url === path && req.method === 'POST' ? (queue.shift() ?? 200) : 404;
      received.push({ status, body: JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as { text: string } });
      res.writeHead(status, { 'Content-Type': 'text/plain' }).end(status === 200 ? 'ok' : 'nope');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  return { url: `http://127.0.0.1:${address.port}${path}`, received, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
