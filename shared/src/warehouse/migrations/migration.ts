/** One numbered, forward-only schema change of the warehouse. Applied once, in id order, in a transaction. */
export interface Migration {
  readonly id: number;
  readonly name: string;
  readonly sql: string;
}
