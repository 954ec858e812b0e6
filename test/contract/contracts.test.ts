import fs from 'node:fs';
import path from 'node:path';
import { CONTRACTS, observedAtOf, parseMessage, serializeMessage, type MessageType } from '@totes/events';
import { ContractError } from '@totes/shared/errors';

/**
 * The message contracts of events/: every example parses, every consumer accepts every version
 * it claims to support, invalid messages are refused with a sentence naming the field, and
 * serialisation round-trips. (Each producer's own output is checked in its service's contract test.)
 */
const EXAMPLES_DIR = path.join(__dirname, '../../events/examples');
const MESSAGE_TYPES = Object.keys(CONTRACTS) as MessageType[];

const versionsOf = (type: MessageType): number[] => Object.keys(CONTRACTS[type]).map(Number);
const latestVersion = (type: MessageType): number => Math.max(...versionsOf(type));

/** The example of a version (by default the latest) of a message type. */
function example(type: MessageType, version = latestVersion(type)): Record<string, unknown> {
  return JSON.parse(fs.readFileSync(path.join(EXAMPLES_DIR, `${type}.v${version}.json`), 'utf8')) as Record<string, unknown>;
}

function refusal(type: MessageType, body: unknown): string {
  try {
    parseMessage(type, body);
  } catch (err) {
    expect(err).toBeInstanceOf(ContractError);
    return (err as Error).message;
  }
  throw new Error(`A ${type} message was accepted where it should have been refused.`);
}

describe('message contracts', () => {
  it('has an example file for every message type and version, and no example without a contract', () => {
    const files = fs.readdirSync(EXAMPLES_DIR).filter((f) => f.endsWith('.json')).sort();
    const expected = MESSAGE_TYPES.flatMap((type) => Object.keys(CONTRACTS[type]).map((v) => `${type}.v${v}.json`)).sort();
    expect(files).toEqual(expected);
  });

  describe.each(MESSAGE_TYPES)('%s', (type) => {
    it.each(versionsOf(type))('parses its version %i example, from JSON text and from a value alike, into the latest version', (version) => {
      const body = example(type, version);
      expect(body.version).toBe(version);
      expect(parseMessage(type, JSON.stringify(body))).toEqual(parseMessage(type, body));
      expect(parseMessage(type, body)).toMatchObject({ type, version: latestVersion(type) });
    });

    it.each(versionsOf(type))('accepts version %i, the consumers supported versions', (version) => {
      const body = { ...example(type, version), version };
      expect(() => parseMessage(type, body)).not.toThrow();
    });

    it('round-trips through serializeMessage: the same message comes back', () => {
      const parsed = parseMessage(type, example(type));
      const text = serializeMessage(type, parsed);
      expect(parseMessage(type, text)).toEqual(parsed);
    });

    it('refuses a version no consumer supports, saying which versions it accepts', () => {
      const message = refusal(type, { ...example(type), version: 99 });
      expect(message).toMatch(new RegExp(`^A ${type} message has version 99; this consumer accepts ${Object.keys(CONTRACTS[type]).join(', ')}\\.$`));
    });

    it('refuses a body that is not JSON with a sentence', () => {
      expect(refusal(type, '{not json')).toBe(`A ${type} message is not JSON.`);
    });

    // extraColumns has a default; observedAt is optional (older detectors did not send it).
    it.each(Object.keys(example(type)).filter((k) => k !== 'version' && k !== 'extraColumns' && k !== 'observedAt'))('refuses a message without %s, naming the field', (field) => {
      const body = example(type);
      delete body[field];
      expect(refusal(type, body)).toMatch(new RegExp(`^A ${type} message is invalid at ${field}: .+\\.$`));
    });

    it('refuses a message of another type, naming the type field', () => {
      const other = MESSAGE_TYPES.find((t) => t !== type) as MessageType;
      expect(refusal(type, { ...example(type), type: other })).toMatch(new RegExp(`^A ${type} message is invalid at type: `));
    });
  });

  describe('batch-extracted observedAt', () => {
    it('is the message\'s own field when it has one', () => {
      expect(observedAtOf(parseMessage('batch-extracted', example('batch-extracted')))).toBe('2024-11-15T14:40:00.123456');
    });

    it('is read from the batch id (named after the pass) when a detector did not send it', () => {
      const { observedAt: _dropped, ...older } = example('batch-extracted');
      const message = parseMessage('batch-extracted', { ...older, batchId: 'payment.20250102t030405000006.p0012' });
      expect(message.observedAt).toBeUndefined();
      expect(observedAtOf(message)).toBe('2025-01-02T03:04:05.000006');
      expect(observedAtOf(parseMessage('batch-extracted', { ...example('batch-extracted', 1), batchId: 'design.20241231t235959999999.p0001' }))).toBe('2024-12-31T23:59:59.999999');
      // Page 10,000 and beyond (batchIdFor pads to four digits, no more).
      expect(observedAtOf(parseMessage('batch-extracted', { ...older, batchId: 'sales_order.20250102t030405000006.p10000' }))).toBe('2025-01-02T03:04:05.000006');
    });

    it('fails the message, naming the batch, when neither says it', () => {
      const { observedAt: _dropped, ...older } = example('batch-extracted');
      const message = parseMessage('batch-extracted', { ...older, batchId: 'handmade-batch-1' });
      expect(() => observedAtOf(message)).toThrow(new ContractError('The batch-extracted message for handmade-batch-1 has no observedAt, and its batch id does not name a detection pass.'));
    });

    it('refuses an observedAt that is not a source timestamp', () => {
      expect(refusal('batch-extracted', { ...example('batch-extracted'), observedAt: '2024-11-15 14:40' })).toMatch(/^A batch-extracted message is invalid at observedAt: /);
    });
  });

  it('names the nested field that is wrong', () => {
    const body = example('batch-extracted') as { range: { to: { lastUpdated: string } } };
    body.range.to.lastUpdated = '15/11/2024';
    expect(refusal('batch-extracted', body)).toMatch(/^A batch-extracted message is invalid at range\.to\.lastUpdated: /);
  });

  it('reads a batch-extracted v1 message as v2 whose object is in the objects layout, the rest unchanged', () => {
    const v1 = example('batch-extracted', 1) as { object: Record<string, unknown> };
    const read = parseMessage('batch-extracted', v1);
    expect(read).toEqual({ ...v1, version: 2, object: { ...v1.object, layout: 'objects' } });
  });

  it('refuses a batch-extracted v2 message whose object names no layout, or one it does not know', () => {
    const body = example('batch-extracted', 2) as { object: Record<string, unknown> };
    delete body.object.layout;
    expect(refusal('batch-extracted', body)).toMatch(/^A batch-extracted message is invalid at object\.layout: /);
    expect(refusal('batch-extracted', { ...body, object: { ...body.object, layout: 'columns' } })).toMatch(/^A batch-extracted message is invalid at object\.layout: /);
  });

  it('refuses a table name outside the closed catalogue', () => {
    expect(refusal('detect-table', { ...example('detect-table'), table: 'users' })).toMatch(/^A detect-table message is invalid at table: /);
  });

  it('refuses a serializeMessage call on an invalid message before it is sent', () => {
    const bad = { ...example('load-requested'), filesInBatch: 0 } as unknown as Parameters<typeof serializeMessage<'load-requested'>>[1];
    expect(() => serializeMessage('load-requested', bad)).toThrow(/invalid at filesInBatch/);
  });
});
