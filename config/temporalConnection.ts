import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { TLSConfig } from '@temporalio/client';
import { loadClientConfigProfile, toClientOptions, type ClientConfigProfile } from '@temporalio/envconfig';

/*
 * How every process of ours reaches Temporal: Temporal's own environment configuration
 * (@temporalio/envconfig), shared with the `temporal` CLI. A profile of a TOML file
 * (TEMPORAL_CONFIG_FILE, else ~/.config/temporalio/temporal.toml; TEMPORAL_PROFILE picks
 * one, `default` otherwise), with TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY,
 * TEMPORAL_TLS and TEMPORAL_TLS_* over it, and the project's defaults under both.
 */

/**
 * How a Temporal connection is secured (the address and namespace are Config's). Holds
 * credentials: never print or store it; describe it.
 */
export interface TemporalConnection {
  /** The profile read, when a configuration file had one. */
  profile: string | undefined;
  apiKey: string | undefined;
  /** TLS settings in Temporal's form; true: TLS with the system's CAs; undefined/false: plain gRPC. */
  tls: TLSConfig | true | undefined;
  /** gRPC headers of the profile (TEMPORAL_GRPC_META_*). */
  metadata: Record<string, string> | undefined;
}

/**
 * The Temporal profile the environment names, or a clear error: a file named by
 * TEMPORAL_CONFIG_FILE that is not there or is malformed, a profile it does not have.
 * `name` is the profile read from a file (undefined when no file was read).
 */
export function readTemporalProfile(env: NodeJS.ProcessEnv): { profile: ClientConfigProfile; name: string | undefined } {
  const vars = Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined && e[1] !== ''));
  const file = vars.TEMPORAL_CONFIG_FILE;
  if (file !== undefined && !existsSync(file)) throw new Error(`TEMPORAL_CONFIG_FILE names ${file}, which does not exist`);
  try {
    const profile = loadClientConfigProfile({ overrideEnvVars: vars });
    const fromFile = file !== undefined || defaultFile(vars) !== undefined;
    return { profile, name: fromFile ? (vars.TEMPORAL_PROFILE ?? 'default') : undefined };
  } catch (err) {
    throw new Error(`Temporal configuration${file ? ` (${file})` : ''}: ${(err as Error).message}`);
  }
}

/** ~/.config/temporalio/temporal.toml (XDG_CONFIG_HOME's first), where it exists: the file envconfig reads by default. */
function defaultFile(vars: Record<string, string>): string | undefined {
  const dir = vars.XDG_CONFIG_HOME ?? (vars.HOME ? join(vars.HOME, '.config') : undefined);
  const path = dir && join(dir, 'temporalio', 'temporal.toml');
  return path && existsSync(path) ? path : undefined;
}

/**
 * How a profile secures the connection. TLS is on when the profile asks for it, when it
 * has certificates, or when an API key is set (Temporal Cloud), as Temporal's own clients do.
 */
export function temporalConnection(profile: ClientConfigProfile, name: string | undefined): TemporalConnection {
  let options: ReturnType<typeof toClientOptions>;
  try {
    options = toClientOptions(profile);
  } catch (err) {
    throw new Error(`Temporal TLS settings: ${(err as Error).message}`);
  }
  const { apiKey, tls, metadata } = options.connectionOptions;
  return {
    profile: name,
    apiKey: typeof apiKey === 'string' ? apiKey : undefined,
    tls: tls === false || tls == null ? undefined : tls,
    metadata: metadata && Object.keys(metadata).length > 0 ? (metadata as Record<string, string>) : undefined,
  };
}

/** The options of Temporal's Connection.connect and NativeConnection.connect. */
export function connectOptions(
  address: string,
  c: TemporalConnection,
): { address: string; apiKey?: string; tls?: TLSConfig | true; metadata?: Record<string, string> } {
  return {
    address,
    ...(c.apiKey !== undefined ? { apiKey: c.apiKey } : {}),
    ...(c.tls !== undefined ? { tls: c.tls } : {}),
    ...(c.metadata !== undefined ? { metadata: c.metadata } : {}),
  };
}

/** How TLS is set, safe to print: never a key or a certificate. */
export function describeTls(tls: TemporalConnection['tls']): string {
  if (tls === undefined) return 'off (plain gRPC)';
  if (tls === true) return 'on (system CAs)';
  const parts = [tls.clientCertPair ? 'mutual TLS (client certificate)' : 'on'];
  parts.push(tls.serverRootCACertificate ? 'server CA given' : 'system CAs');
  if (tls.serverNameOverride) parts.push(`server name ${tls.serverNameOverride}`);
  return parts.join(', ');
}

/** How the connection is secured, safe to print in a log line. */
export function describeTemporalSecurity(c: TemporalConnection): string {
  return [`TLS ${describeTls(c.tls)}`, ...(c.apiKey !== undefined ? ['API key set'] : []), ...(c.profile !== undefined ? [`profile ${c.profile}`] : [])].join(
    '; ',
  );
}
