/*
 * Whether and where this process sends traces, from OpenTelemetry's standard variables.
 * Tracing is opt-in: on when OTEL_TRACES_EXPORTER names an exporter, or when an OTLP
 * endpoint is set; OTEL_SDK_DISABLED=true turns it off whatever else says.
 */
export interface TracingSettings {
  exporter: 'otlp' | 'console' | 'none';
}

const EXPORTERS = ['otlp', 'console', 'none'] as const;

export function readTracingSettings(env: NodeJS.ProcessEnv, problems: string[]): TracingSettings {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return { exporter: 'none' };
  const named = env.OTEL_TRACES_EXPORTER?.trim().toLowerCase();
  if (named) {
    // A list, as the specification allows; the first we know is used.
    const first = named.split(',').map((s) => s.trim())[0] as string;
    if (!(EXPORTERS as readonly string[]).includes(first)) {
      problems.push(`OTEL_TRACES_EXPORTER must be otlp, console or none, got ${JSON.stringify(env.OTEL_TRACES_EXPORTER)}`);
      return { exporter: 'none' };
    }
    return { exporter: first as TracingSettings['exporter'] };
  }
  const endpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim() || env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  if (endpoint) {
    try {
      const url = new URL(endpoint);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http');
    } catch {
      problems.push('OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) must be an http:// or https:// URL');
      return { exporter: 'none' };
    }
    return { exporter: 'otlp' };
  }
  return { exporter: 'none' };
}
