/**
 * Typed errors. Each says in one sentence what went wrong and what to do; the CLI prints the
 * message, never a stack trace. Wrap lower-level errors with `{ cause }`.
 */
export class TotesError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A configuration variable is missing or malformed; raised at start, naming the variable. */
export class ConfigError extends TotesError {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(message);
  }
}

/** A message failed its contract: it goes back to the queue and, after retries, to the DLQ. */
export class ContractError extends TotesError {}

/** The source no longer matches the contract (missing table or column, changed type). */
export class SourceSchemaError extends TotesError {
  constructor(
    readonly table: string,
    readonly column: string | undefined,
    message: string,
  ) {
    super(message);
  }
}

/** A conditional write on pipeline state failed: someone else holds the lease, or the state moved. */
export class StateConflictError extends TotesError {}

/** Another detection of the same table holds its lease. */
export class LeaseHeldError extends StateConflictError {}

/** The file a loader was given does not match its target table. */
export class LoadFileError extends TotesError {}

/** The raw batch cannot be read at all (corrupt object, unknown schema version). */
export class UnreadableBatchError extends TotesError {}

/** A short, stack-free description of any thrown value, with its causes. */
export function describeError(err: unknown): string {
  const parts: string[] = [];
  let current: unknown = err;
  for (let depth = 0; current !== undefined && current !== null && depth < 5; depth++) {
    if (current instanceof Error) {
      const text = current.message || current.name;
      if (!parts.includes(text)) parts.push(text);
      current = current.cause;
    } else {
      parts.push(String(current));
      break;
    }
  }
  return parts.join(': ');
}
