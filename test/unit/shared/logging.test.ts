import { createLogger, createMetrics, flushMetrics, MetricUnit, setLogSink } from '../../../shared/src/logging';

describe('logging and metrics sink', () => {
  const lines: string[] = [];
  beforeEach(() => {
    lines.length = 0;
    setLogSink({ write: (line) => lines.push(line) });
  });
  afterAll(() => setLogSink(undefined));

  it('writes structured log lines to the sink instead of stdout', () => {
    createLogger('svc').info('batch written', { table: 'sales_order', batchId: 'b1' });
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: 'INFO', message: 'batch written', service: 'svc', table: 'sales_order', batchId: 'b1' });
  });

  it('flushes metrics as embedded metric format and starts the next invocation clean, as publishing does in AWS', () => {
    const metrics = createMetrics('svc');
    metrics.addDimension('table', 'payment');
    metrics.addMetric('RowsLoaded', MetricUnit.Count, 7);
    flushMetrics(metrics);
    const emf = JSON.parse(lines.at(-1)!) as Record<string, unknown>;
    expect(emf).toMatchObject({ table: 'payment', RowsLoaded: 7, service: 'svc' });
    expect(JSON.stringify(emf._aws)).toContain('TotesEtl');

    lines.length = 0;
    metrics.addDimension('table', 'address');
    metrics.addMetric('RowsLoaded', MetricUnit.Count, 1);
    flushMetrics(metrics);
    // Setting the dimension again after a flush is not a "dimension already added" warning.
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ table: 'address', RowsLoaded: 1 });
  });

  it('sends Powertools metric warnings to the sink too', () => {
    const metrics = createMetrics('svc');
    metrics.addDimension('table', 'a');
    metrics.addDimension('table', 'b');
    expect(lines.some((l) => l.includes('already been added'))).toBe(true);
    metrics.clearDimensions();
  });
});
