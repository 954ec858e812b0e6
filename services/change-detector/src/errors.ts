import { TotesError } from '@totes/shared/errors';

/**
 * The source's transaction ids are behind the last pass's (the database was restored from a backup
 * or replaced by another server): the xmin test would take every row for one already extracted,
 * so detection of the table stops rather than silently extract nothing. Like a schema problem, a
 * retry cannot fix it: a person resets the table's watermark (a full extraction follows).
 */
export class SourceReplacedError extends TotesError {
  constructor(
    readonly table: string,
    message: string,
  ) {
    super(message);
  }
}
