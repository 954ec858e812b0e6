import { TotesError } from '@totes/shared/errors';

/** The seed cannot run: bad options, or a source that is not empty. Nothing was written. */
export class SeedError extends TotesError {}

/**
 * A CSV extract cannot be imported. Names the file, the line (1 = the header) and the column, so
 * the user can fix the file; the import wrote nothing.
 */
export class CsvImportError extends TotesError {
  constructor(
    readonly file: string,
    readonly line: number | undefined,
    readonly column: string | undefined,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** The change simulator cannot make changes on this source (tables missing, or a change failed). */
export class SimulatorError extends TotesError {}
