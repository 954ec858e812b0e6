#!/usr/bin/env node
'use strict';
// The `totes` command. The CLI is TypeScript, run through tsx so that a fresh clone needs no build step.
require('tsx/cjs');
require('../local/src/node-warnings.ts');
require('../local/src/cli/main.ts')
  .main(process.argv.slice(2))
  .then((code) => {
    // main() has stopped everything it started. The handlers it ran keep their database connections
    // at module scope, as a Lambda container does (there is no shutdown hook to close them); with
    // external databases those sockets would keep the process alive, so the command exits here.
    process.exit(code);
  });
