import type { z } from 'zod';
import { ContractError } from '@totes/shared/errors';
import { detectTableV1 } from './detect-table.v1';
import { batchExtractedV1, type BatchExtractedV1 } from './batch-extracted.v1';
import { batchExtractedV2, upgradeBatchExtractedV1 } from './batch-extracted.v2';
import { loadRequestedV1 } from './load-requested.v1';

export * from './detect-table.v1';
export * from './batch-extracted.v1';
export * from './batch-extracted.v2';
export * from './load-requested.v1';

/**
 * Every message type with every version a consumer accepts. A consumer parses with `parseMessage`
 * and gets the latest version's shape; it never casts. Adding version 2 of a type means adding its
 * schema here with an upgrade from version 1.
 */
export const CONTRACTS = {
  'detect-table': { 1: detectTableV1 },
  'batch-extracted': { 1: batchExtractedV1, 2: batchExtractedV2 },
  'load-requested': { 1: loadRequestedV1 },
} as const;

export type MessageType = keyof typeof CONTRACTS;
export type LatestMessage<T extends MessageType> = {
  'detect-table': z.infer<typeof detectTableV1>;
  'batch-extracted': z.infer<typeof batchExtractedV2>;
  'load-requested': z.infer<typeof loadRequestedV1>;
}[T];

/** How a parsed older version becomes the latest version's shape, per type and version. */
const UPGRADES: { readonly [T in MessageType]?: Readonly<Record<number, (message: never) => LatestMessage<T>>> } = {
  'batch-extracted': { 1: (message: BatchExtractedV1) => upgradeBatchExtractedV1(message) },
};

/** Parse a message body (JSON text or a value) of the given type, any supported version. */
export function parseMessage<T extends MessageType>(type: T, body: unknown): LatestMessage<T> {
  let value: unknown = body;
  if (typeof body === 'string') {
    try {
      value = JSON.parse(body);
    } catch {
      throw new ContractError(`A ${type} message is not JSON.`);
    }
  }
  const version = typeof value === 'object' && value !== null ? (value as { version?: unknown }).version : undefined;
  const versions = CONTRACTS[type] as Record<number, z.ZodType>;
  const schema = typeof version === 'number' ? versions[version] : undefined;
  if (!schema) {
    throw new ContractError(`A ${type} message has version ${String(version)}; this consumer accepts ${Object.keys(versions).join(', ')}.`);
  }
  const result = schema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new ContractError(`A ${type} message is invalid at ${issue?.path.join('.') || 'the top level'}: ${issue?.message}.`);
  }
  const upgrade = (UPGRADES[type] as Record<number, (message: unknown) => LatestMessage<T>> | undefined)?.[version as number];
  return upgrade ? upgrade(result.data) : (result.data as LatestMessage<T>);
}

/** Serialise a message after validating it, so a producer cannot send what a consumer would reject. */
export function serializeMessage<T extends MessageType>(type: T, message: LatestMessage<T>): string {
  return JSON.stringify(parseMessage(type, message));
}
