import { DefaultLogger, type LogEntry, type LogLevel } from '@temporalio/worker';

export const LOG_LEVELS: readonly LogLevel[] = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'];

/**
 * Structured logs: one JSON object per line, for the worker's own events (runs, pages,
 * retries, merges) and the SDK's. Errors become their messages; times are ISO.
 */
export function jsonLogger(level: LogLevel, write: (line: string) => void = (line) => process.stdout.write(line)): DefaultLogger {
  return new DefaultLogger(level, (entry: LogEntry) => {
    // taskToken is an opaque blob of the SDK's, long and of no use to a reader.
    const meta = Object.fromEntries(
      Object.entries(entry.meta ?? {})
        .filter(([k]) => k !== 'taskToken')
        .map(([k, v]) => [k, v instanceof Error ? `${v.name}: ${v.message}` : v]),
    );
    write(
      `${JSON.stringify({ time: new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString(), level: entry.level, message: entry.message, ...meta })}\n`,
    );
  });
}
