import type { RawLayout } from '@totes/events';
import { SOURCE_TABLES, type SourceTableName } from '@totes/shared/source/tables';
import type { WarehouseTableName } from '@totes/shared/warehouse/tables';
import { OutputTable } from './output-table';
import type { OutputRow } from './parquet-file';
import { readRawBatch, type RawBatchRow } from './raw-batch';
import { TRANSFORM_TARGETS } from '@totes/shared/topology';
import { createRule } from './rules';
import type { SourceImages } from './source-images';
import { parseSourceTimestamp, type RawRow, type RowIssue } from './source-values';
import { UnreadableBatchError } from '@totes/shared/errors';

/**
 * Derives a raw batch's warehouse rows (SPEC §3) and its quarantined rows (SPEC §5), with no I/O
 * beyond the joined dimensions' source read. Rows stream from the object; what is kept is the
 * output rows (bounded by the batch size) and the rows left out.
 */
export interface QuarantinedRow {
  /** The source table whose row broke a rule, and the row's primary key. */
  readonly table: SourceTableName;
  readonly id: number;
  /** The first problem (the column at fault and why); `problems` lists them all. */
  readonly column: string;
  readonly reason: string;
  readonly problems: readonly RowIssue[];
  /** The row as it was in the raw batch. */
  readonly row: RawRow;
  /** Its line in the raw object. */
  readonly line: number;
}

export interface DerivedTarget {
  readonly target: WarehouseTableName;
  readonly rows: readonly OutputRow[];
}

export interface DerivedBatch {
  /** Rows read from the raw object. */
  readonly rows: number;
  /** One entry per target table of the source table, in TRANSFORM_TARGETS order (infra/topology.json), even when empty. */
  readonly targets: readonly DerivedTarget[];
  /** In raw-object line order. */
  readonly quarantined: readonly QuarantinedRow[];
  readonly notes: readonly { readonly message: string; readonly attributes: Record<string, unknown> }[];
}

export interface DeriveOptions {
  /** When the batch's rows were observed (batch-extracted `observedAt`, see rules.ts RuleContext). */
  readonly observedAt: string;
  readonly layout: RawLayout;
}

export async function deriveBatch(table: SourceTableName, compressed: Uint8Array, images: SourceImages, options: DeriveOptions): Promise<DerivedBatch> {
  const observed = parseSourceTimestamp(options.observedAt);
  if (!observed) throw new UnreadableBatchError(`its observedAt ${JSON.stringify(options.observedAt)} is not a source timestamp`);
  const targets = TRANSFORM_TARGETS[table];
  const outputs = new Map(targets.map((t) => [t, new OutputTable(t)]));
  const quarantined = new Map<number, { row: RawBatchRow; problems: RowIssue[] }>();
  const notes: { message: string; attributes: Record<string, unknown> }[] = [];
  const rule = createRule(table);
  const ctx = {
    images,
    observed: observed.epochMicros,
    emit(target: WarehouseTableName, row: OutputRow) {
      const out = outputs.get(target);
      if (!out) throw new Error(`the ${table} rule emitted a ${target} row, which is not one of its targets`);
      out.add(row);
    },
    quarantine(row: RawBatchRow, issues: readonly RowIssue[]) {
      const entry = quarantined.get(row.line) ?? { row, problems: [] };
      entry.problems.push(...issues);
      quarantined.set(row.line, entry);
    },
    note(message: string, attributes: Record<string, unknown>) {
      notes.push({ message, attributes });
    },
  };

  let rows = 0;
  for await (const row of readRawBatch(compressed, table, options.layout)) {
    rows += 1;
    rule.accept(row, ctx);
  }
  await rule.finish(ctx);

  return {
    rows,
    targets: targets.map((target) => ({ target, rows: outputs.get(target)?.rows() ?? [] })),
    quarantined: [...quarantined.values()]
      .sort((a, b) => a.row.line - b.row.line)
      .map(({ row, problems }) => {
        const first = problems[0] ?? { column: SOURCE_TABLES[table].primaryKey, reason: 'unknown' };
        return { table, id: row.id, column: first.column, reason: first.reason, problems, row: row.row, line: row.line };
      }),
    notes,
  };
}
