import fs from 'node:fs';
import path from 'node:path';
import { VERIFIED_PG_PROTOCOL_VERSION, VERIFIED_PG_VERSION } from '../../../shared/src/source/copy-out';

/**
 * shared/src/source/copy-out.ts reads node-postgres internals (the connection's socket and its one
 * 'data' listener, which pg-protocol attaches). These checks make an upgrade of either package a
 * deliberate step: whoever changes them re-runs test/integration/source/copy-out.test.ts and then
 * updates the verified versions in copy-out.ts.
 */
const root = path.resolve(__dirname, '../../..');

function installedVersion(packageJson: string): string {
  return (JSON.parse(fs.readFileSync(packageJson, 'utf8')) as { version: string }).version;
}

describe('copy-out: node-postgres pinned to the version it was verified against', () => {
  it('shared/package.json pins pg to exactly the verified version', () => {
    const shared = JSON.parse(fs.readFileSync(path.join(root, 'shared/package.json'), 'utf8')) as { dependencies: Record<string, string> };

    expect(shared.dependencies.pg).toBe(VERIFIED_PG_VERSION);
  });

  it('the installed pg and the pg-protocol it loads are the verified versions', () => {
    const pgPackage = require.resolve('pg/package.json', { paths: [path.join(root, 'shared')] });
    // pg-protocol does not export its package.json: found next to the entry point pg resolves.
    const protocolEntry = require.resolve('pg-protocol', { paths: [path.dirname(pgPackage)] });

    expect(installedVersion(pgPackage)).toBe(VERIFIED_PG_VERSION);
    expect(installedVersion(path.join(path.dirname(protocolEntry), '..', 'package.json'))).toBe(VERIFIED_PG_PROTOCOL_VERSION);
  });
});
