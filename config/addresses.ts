import type { Config } from './config.js';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

export function isLoopback(host: string): boolean {
  return LOOPBACK.has(host.toLowerCase());
}

export function splitHostPort(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(':');
  return { host: address.slice(0, i).replace(/^\[(.*)\]$/, '$1'), port: Number(address.slice(i + 1)) };
}

/**
 * The Temporal Web UI: TEMPORAL_UI_URL if set; for a local server, the dev
 * server's default (gRPC port + 1000, so 8233 for 7233); otherwise unknown.
 */
export function temporalUiUrl(config: Config, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.TEMPORAL_UI_URL) return env.TEMPORAL_UI_URL.replace(/\/+$/, '');
  const { host, port } = splitHostPort(config.temporalAddress);
  return isLoopback(host) ? `http://${host}:${port + 1000}` : undefined;
}

export function workflowUiUrl(config: Config, workflowId: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const ui = temporalUiUrl(config, env);
  return ui && `${ui}/namespaces/${encodeURIComponent(config.temporalNamespace)}/workflows/${encodeURIComponent(workflowId)}`;
}
