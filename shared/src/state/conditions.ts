/**
 * DynamoDB answers a failed ConditionExpression with ConditionalCheckFailedException: for the state
 * stores that is an expected outcome (someone else holds the lease, the record exists, the state
 * moved), decided by the caller, never a crash.
 */
export function isConditionFailure(err: unknown): boolean {
  return err instanceof Error && err.name === 'ConditionalCheckFailedException';
}
