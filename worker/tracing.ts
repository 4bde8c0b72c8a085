import { createRequire } from 'node:module';
import { SpanKind, SpanStatusCode, trace, type Span, type Tracer } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { envDetectorSync, Resource } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  ConsoleSpanExporter,
  NoopSpanProcessor,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import {
  makeWorkflowExporter,
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
  type OpenTelemetryWorkflowExporter,
} from '@temporalio/interceptors-opentelemetry';
import type { InjectedSinks } from '@temporalio/worker';
import type { MongoClient } from 'mongodb';
import type { TracingSettings } from '../config/tracing.js';

/*
 * Opt-in OpenTelemetry tracing, set by the standard OTEL_* variables (config/tracing.ts):
 * one trace from the CLI's command through the workflow, its child workflows and
 * activities, down to each MongoDB command and HTTP request. Temporal's interceptors
 * (@temporalio/interceptors-opentelemetry) carry the context in workflow and activity
 * headers; workflow spans leave the sandbox through a sink. Off, nothing is set up, the
 * worker runs the bundle without the interceptors, and the API's calls in the code are no-ops.
 */

/** The workflow interceptors of @temporalio/interceptors-opentelemetry: in the traced bundle (workflowBundle.ts). */
export const WORKFLOW_TRACING_MODULE = createRequire(import.meta.url).resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors');

export interface Tracing {
  tracer: Tracer;
  resource: Resource;
  spanProcessor: SpanProcessor;
  /** Sends what is buffered and stops; call before the process exits. */
  shutdown(): Promise<void>;
}

/**
 * Starts tracing for this process when the settings ask for it, and registers it as the
 * global provider (with a context manager that follows async calls). `service` names the
 * process unless OTEL_SERVICE_NAME does. Undefined when tracing is off.
 */
export function startTracing(settings: TracingSettings, service: string, options: { exporter?: SpanExporter; version?: string } = {}): Tracing | undefined {
  if (settings.exporter === 'none' && !options.exporter) return undefined;
  // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES (the env detector) win over the default name.
  const resource = new Resource({ 'service.name': service, ...(options.version ? { 'service.version': options.version } : {}) }).merge(
    envDetectorSync.detect(),
  );
  // The OTLP exporter reads OTEL_EXPORTER_OTLP_* (endpoint, headers, timeout) itself; the batch processor OTEL_BSP_*.
  const exporter = options.exporter ?? (settings.exporter === 'console' ? new ConsoleSpanExporter() : new OTLPTraceExporter());
  const spanProcessor = new BatchSpanProcessor(exporter);
  const provider = new BasicTracerProvider({ resource, spanProcessors: [spanProcessor] });
  provider.register({ contextManager: new AsyncLocalStorageContextManager().enable() });
  return {
    tracer: provider.getTracer('moovitamix'),
    resource,
    spanProcessor,
    shutdown: async () => {
      await provider.shutdown();
      trace.disable();
    },
  };
}

/** The sink the workflow interceptors export their spans through; without tracing (a replay), nowhere. */
export function workflowTracingSinks(tracing: Tracing | undefined): InjectedSinks<{ exporter: OpenTelemetryWorkflowExporter }> {
  return { exporter: makeWorkflowExporter(tracing?.spanProcessor ?? new NoopSpanProcessor(), tracing?.resource ?? Resource.empty()) };
}

/** The activity interceptors: a span per activity attempt, child of the workflow's StartActivity span. */
export function activityTracingInterceptors(tracing: Tracing) {
  return [
    (ctx: ConstructorParameters<typeof OpenTelemetryActivityInboundInterceptor>[0]) => ({
      inbound: new OpenTelemetryActivityInboundInterceptor(ctx, { tracer: tracing.tracer }),
      outbound: new OpenTelemetryActivityOutboundInterceptor(ctx),
    }),
  ];
}

/**
 * A span per MongoDB command, child of whatever span is current where the command was
 * issued (an activity's), from the driver's command monitoring. Only the command's name,
 * collection and database: never its documents or filters.
 */
export function traceMongoCommands(client: MongoClient, tracer: Tracer): void {
  const open = new Map<number, Span>();
  client.on('commandStarted', (e) => {
    const collection = (e.command as Record<string, unknown>)[e.commandName];
    const target = typeof collection === 'string' ? collection : undefined;
    const span = tracer.startSpan(`${e.commandName}${target ? ` ${target}` : ''}`, {
      kind: SpanKind.CLIENT,
      attributes: {
        'db.system': 'mongodb',
        'db.operation.name': e.commandName,
        'db.namespace': e.databaseName,
        ...(target ? { 'db.collection.name': target } : {}),
        'server.address': e.address,
      },
    });
    open.set(e.requestId, span);
  });
  client.on('commandSucceeded', (e) => {
    open.get(e.requestId)?.end();
    open.delete(e.requestId);
  });
  client.on('commandFailed', (e) => {
    const span = open.get(e.requestId);
    open.delete(e.requestId);
    if (!span) return;
    span.setStatus({ code: SpanStatusCode.ERROR, message: e.failure.message });
    span.end();
  });
}
