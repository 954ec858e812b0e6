#!/usr/bin/env node
'use strict';
// The `totes` command. The CLI is TypeScript, run through tsx so that a fresh clone needs no build step.
// The AWS SDK warns once that Node 20 support ends in 2027; the Lambda runtime is nodejs22.x, and the
// warning would only clutter a newcomer's terminal, so it alone is filtered. Every other warning prints.
const defaultWarningListeners = process.listeners('warning');
process.removeAllListeners('warning');
process.on('warning', (warning) => {
  if (String(warning && warning.message).startsWith('NodeVersionSupportWarning')) return;
  if (warning && warning.name === 'ExperimentalWarning' && /require\(\)|CommonJS module/.test(String(warning.message))) return;
  for (const listener of defaultWarningListeners) listener(warning);
});
require('tsx/cjs');
require('../local/src/cli/main.ts')
  .main(process.argv.slice(2))
  .then((code) => {
    process.exitCode = code;
  });
