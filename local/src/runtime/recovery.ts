import { paginateScan, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoLeaseStore, leasePk } from '@totes/shared/state/lease-store';
import { isProcessAlive } from '../stack/process';

/**
 * Local recovery at start: leases held by a local process that no longer exists (a run killed with
 * SIGKILL) are released at once. In AWS a crashed detection's lease simply expires; locally the
 * killed process is known to be gone, so the next `totes run --once` need not wait out the lease.
 *
 * The local runtime names each invocation `local-<pid>-<uuid>` (see lambdaContext), and the
 * change-detector's lease owner starts with the invocation's request id.
 */
export const LOCAL_REQUEST_ID = /^local-(\d+)-/;

export async function releaseOrphanedLeases(dynamo: DynamoDBDocumentClient, stateTable: string): Promise<string[]> {
  const leases = new DynamoLeaseStore(dynamo, stateTable);
  const released: string[] = [];
  const pages = paginateScan({ client: dynamo }, { TableName: stateTable, FilterExpression: 'begins_with(pk, :lease)', ExpressionAttributeValues: { ':lease': leasePk('') } });
  for await (const page of pages) {
    for (const item of page.Items ?? []) {
      const owner = String(item.owner ?? '');
      const pid = Number(LOCAL_REQUEST_ID.exec(owner)?.[1]);
      if (!pid || pid === process.pid || isProcessAlive(pid)) continue;
      const name = String(item.pk).slice(leasePk('').length);
      await leases.release({ name, owner, expiresAt: Number(item.expiresAt) });
      released.push(name);
    }
  }
  return released;
}
