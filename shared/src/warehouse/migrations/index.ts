import type { Migration } from './migration';
import { migration as m0001 } from './0001-warehouse-tables';
import { migration as m0002 } from './0002-fact-version-uniqueness';
import { migration as m0003 } from './0003-pipeline-bookkeeping';
import { migration as m0004 } from './0004-current-fact-views';
import { migration as m0005 } from './0005-current-fact-by-observation';

/** Every warehouse migration, in order. A new migration is a new numbered file added here. */
export const MIGRATIONS: readonly Migration[] = [m0001, m0002, m0003, m0004, m0005];
export type { Migration };
