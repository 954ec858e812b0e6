import { Logger } from '@aws-lambda-powertools/logger';
import type { LogItem } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

/**
 * Structured logs (Powertools Logger: one JSON line per event) and metrics (Powertools Metrics:
 * CloudWatch embedded metric format, so emitting them costs no API call). In AWS both go to stdout
 * and CloudWatch. The local runtime sets a sink so that the handlers' JSON lines land in the state
 * directory's log file instead of over the live status display.
 */
export interface LogSink {
  write(line: string): void;
}

let sink: LogSink | undefined;

/** Route every logger's and every metrics flush's output to `next` (undefined: back to stdout). */
export function setLogSink(next: LogSink | undefined): void {
  sink = next;
}

class SinkAwareLogger extends Logger {
  protected override printLog(logLevel: number, log: LogItem): void {
    if (!sink) return super.printLog(logLevel, log);
    sink.write(JSON.stringify(log.getAttributes()));
  }
}

export type { Logger };
export { MetricUnit };
export type { Metrics };

export function createLogger(serviceName: string): Logger {
  return new SinkAwareLogger({ serviceName });
}

export const METRICS_NAMESPACE = 'TotesEtl';

export function createMetrics(serviceName: string): Metrics {
  // Powertools reports metric misuse (a dimension set twice, …) through `logger`; the default is
  // the console, which would bypass the local sink.
  return new Metrics({ namespace: METRICS_NAMESPACE, serviceName, logger: createLogger(serviceName) });
}

/** Publish stored metrics once per invocation; locally they go to the sink like the logs. */
export function flushMetrics(metrics: Metrics): void {
  if (!sink) {
    metrics.publishStoredMetrics();
    return;
  }
  try {
    if (metrics.hasStoredMetrics()) sink.write(JSON.stringify(metrics.serializeMetrics()));
  } finally {
    // As publishStoredMetrics does: the next invocation starts with no metrics, dimensions or metadata.
    metrics.clearMetrics();
    metrics.clearDimensions();
    metrics.clearMetadata();
  }
}
