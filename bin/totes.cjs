#!/usr/bin/env node
'use strict';
// The `totes` command. The CLI is TypeScript, run through tsx so that a fresh clone needs no build step.
require('tsx/cjs');
require('../local/src/node-warnings.ts');
require('../local/src/cli/main.ts')
  .main(process.argv.slice(2))
  .then((code) => {
    process.exitCode = code;
  });
