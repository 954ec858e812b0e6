'use strict';

/*
 * One entry point for packaging, deploying and removing every service (docs/deploy.md):
 *
 *   npm run package [-- --stage dev] [--out DIR]          every service, offline, in parallel
 *   npm run deploy -- --stage dev --param alarmEmail=ops@example.com \
 *       --param sourceSecretId=totes/dev/source --param warehouseSecretId=totes/dev/warehouse
 *   node scripts/serverless.cjs remove --stage dev        consumers first, then the shared resources
 *
 * `package` runs osls directly in each service folder: packaging needs no AWS account, and compose
 * cannot package a service whose params are another stack's outputs before that stack exists.
 * `deploy` runs serverless-compose (serverless-compose.yml: resources first, its outputs become the
 * other services' params) with scripts/bin first on PATH, where the `serverless` shim answers
 * compose's version check for osls. Compose does not pass `--param` through to the services, so
 * deployer params travel as environment variables that serverless-compose.yml reads.
 */

const { Buffer } = require('node:buffer');
const { spawn } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { performance } = require('node:perf_hooks');
const { setTimeout: sleep } = require('node:timers/promises');

const ROOT = path.resolve(__dirname, '..');
const OSLS = require.resolve('osls/bin/serverless.js', { paths: [ROOT] });
const COMPOSE = require.resolve('@serverless/compose/bin/serverless-compose', { paths: [ROOT] });
const SHIM_DIR = path.join(__dirname, 'bin');
/** In deployment order: the shared resources first, the services that use them after. */
const SERVICES = ['resources', 'change-detector', 'transformer', 'warehouse-loader'];

/**
 * Deployer params: name, the environment variable serverless-compose.yml reads, and whether a
 * deploy needs it. osls rejects an empty `--param`, so an unset optional one travels as "none".
 */
const PARAMS = [
  { name: 'alarmEmail', env: 'TOTES_ALARM_EMAIL', required: true, example: 'ops@example.com', packaging: 'alarms@example.invalid' },
  { name: 'sourceSecretId', env: 'TOTES_SOURCE_SECRET_ID', required: true, example: 'totes/dev/source' },
  { name: 'warehouseSecretId', env: 'TOTES_WAREHOUSE_SECRET_ID', required: true, example: 'totes/dev/warehouse' },
  { name: 'vpcSubnetIds', env: 'TOTES_VPC_SUBNET_IDS', required: false, fallback: 'none' },
  { name: 'vpcSecurityGroupIds', env: 'TOTES_VPC_SECURITY_GROUP_IDS', required: false, fallback: 'none' },
  { name: 'logLevel', env: 'TOTES_LOG_LEVEL', required: false, fallback: 'INFO' },
];

/** A service packages in seconds; a run this long is stuck (e.g. a build tool that never exits). */
const PACKAGE_TIMEOUT_MS = 5 * 60 * 1000;

class UsageError extends Error {}

function parseArgs(argv) {
  const [command, ...rest] = argv;
  const opts = { command, stage: 'dev', region: undefined, out: undefined, verbose: false, params: {} };
  for (let i = 0; i < rest.length; i += 1) {
    const arg = rest[i];
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = () => {
      if (inline !== undefined) return inline;
      i += 1;
      if (rest[i] === undefined) throw new UsageError(`${flag} needs a value.`);
      return rest[i];
    };
    switch (flag) {
      case '--stage':
        opts.stage = value();
        break;
      case '--region':
        opts.region = value();
        break;
      case '--out':
        opts.out = path.resolve(value());
        break;
      case '--verbose':
        opts.verbose = true;
        break;
      case '--param': {
        const pair = value();
        const eq = pair.indexOf('=');
        if (eq <= 0 || eq === pair.length - 1) throw new UsageError(`--param takes name=value, got "${pair}".`);
        opts.params[pair.slice(0, eq)] = pair.slice(eq + 1);
        break;
      }
      default:
        throw new UsageError(`Unknown option ${arg}.`);
    }
  }
  if (!/^[a-z][a-z0-9-]{0,11}$/.test(opts.stage)) {
    // Bucket names carry the stage, the account id and the region and must stay within 63 characters.
    throw new UsageError(`The stage "${opts.stage}" must be 1-12 lower-case letters, digits or dashes, starting with a letter.`);
  }
  return opts;
}

function run(command, args, { cwd, env, quiet, timeoutMs }) {
  return new Promise((resolve, reject) => {
    // A timeout only where nothing waits on a person or on CloudFormation: packaging.
    const child = spawn(command, args, { cwd, env, stdio: quiet ? ['ignore', 'pipe', 'pipe'] : 'inherit', ...(timeoutMs ? { timeout: timeoutMs, killSignal: 'SIGKILL' } : {}) });
    let output = '';
    if (quiet) {
      child.stdout.on('data', (d) => (output += d));
      child.stderr.on('data', (d) => (output += d));
    }
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code: code ?? 1, output: signal ? `${output}\n(stopped by ${signal} after ${timeoutMs} ms)` : output }));
  });
}

/** Uncompressed size of every file in a zip, from its central directory (no unzip needed). */
function zipEntries(file) {
  const buf = fs.readFileSync(file);
  const eocd = buf.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (eocd < 0) throw new Error(`${file} is not a zip file`);
  const count = buf.readUInt16LE(eocd + 10);
  let at = buf.readUInt32LE(eocd + 16);
  const entries = [];
  for (let n = 0; n < count; n += 1) {
    const size = buf.readUInt32LE(at + 24);
    const nameLength = buf.readUInt16LE(at + 28);
    const extra = buf.readUInt16LE(at + 30);
    const comment = buf.readUInt16LE(at + 32);
    entries.push({ name: buf.toString('utf8', at + 46, at + 46 + nameLength), size });
    at += 46 + nameLength + extra + comment;
  }
  return entries;
}

const kib = (bytes) => `${(bytes / 1024).toFixed(1)} KiB`;

function paramArgs(params) {
  return Object.entries(params).flatMap(([k, v]) => ['--param', `${k}=${v}`]);
}

async function packageAll(opts) {
  // Templates need a value for every required param; packaging is a build check, so placeholders do.
  const params = { ...opts.params };
  for (const p of PARAMS) {
    if (params[p.name] === undefined && p.required) params[p.name] = p.packaging ?? p.example.replace(/dev/g, opts.stage);
  }
  const started = performance.now();
  const results = await Promise.all(
    SERVICES.map(async (service) => {
      const cwd = path.join(ROOT, 'services', service);
      const outDir = opts.out ? path.join(opts.out, service) : path.join(cwd, '.serverless');
      const t0 = performance.now();
      const args = [OSLS, 'package', '--stage', opts.stage, '--package', outDir, ...paramArgs(params)];
      if (opts.region) args.push('--region', opts.region);
      const { code, output } = await run(process.execPath, args, { cwd, env: { ...process.env, SLS_TELEMETRY_DISABLED: '1' }, quiet: true, timeoutMs: PACKAGE_TIMEOUT_MS });
      return { service, code, output, seconds: (performance.now() - t0) / 1000, outDir };
    }),
  );
  const total = (performance.now() - started) / 1000;
  let failed = false;
  for (const r of results) {
    if (r.code !== 0) {
      failed = true;
      console.error(`✖ ${r.service}: serverless package failed\n${r.output.trim()}\n`);
      continue;
    }
    const zips = fs.readdirSync(r.outDir).filter((f) => f.endsWith('.zip')).sort();
    console.log(`✔ ${r.service} packaged in ${r.seconds.toFixed(1)} s → ${path.relative(ROOT, r.outDir)}`);
    for (const zip of zips) {
      const entries = zipEntries(path.join(r.outDir, zip));
      const code = entries.filter((e) => e.name.endsWith('.js')).reduce((s, e) => s + e.size, 0);
      const map = entries.filter((e) => e.name.endsWith('.map')).reduce((s, e) => s + e.size, 0);
      const zipped = fs.statSync(path.join(r.outDir, zip)).size;
      console.log(`    ${zip.padEnd(32)} zip ${kib(zipped).padStart(11)}   bundle ${kib(code).padStart(11)}   source map ${kib(map).padStart(11)}`);
    }
  }
  console.log(`${failed ? 'Packaging failed' : 'Packaged every service'} in ${total.toFixed(1)} s (stage ${opts.stage}).`);
  return failed ? 1 : 0;
}

function deployEnv(opts, { forRemoval }) {
  const env = { ...process.env, SLS_TELEMETRY_DISABLED: '1', PATH: `${SHIM_DIR}${path.delimiter}${process.env.PATH ?? ''}` };
  if (opts.region) env.AWS_REGION = opts.region;
  const missing = [];
  for (const p of PARAMS) {
    const value = opts.params[p.name] ?? env[p.env];
    if (value !== undefined && value !== '') env[p.env] = value;
    else if (!p.required) env[p.env] = p.fallback;
    // Removing a stack does not use these values, but the templates must still render.
    else if (forRemoval) env[p.env] = p.packaging ?? p.example;
    else missing.push(p);
  }
  const unknown = Object.keys(opts.params).filter((name) => !PARAMS.some((p) => p.name === name));
  if (unknown.length > 0) throw new UsageError(`Unknown param ${unknown.join(', ')}; known: ${PARAMS.map((p) => p.name).join(', ')}.`);
  if (missing.length > 0) {
    throw new UsageError(
      `Set ${missing.map((p) => `${p.name} (--param ${p.name}=${p.example} or ${p.env})`).join(', ')} to deploy. See docs/deploy.md.`,
    );
  }
  return env;
}

async function deployAll(opts) {
  const env = deployEnv(opts, { forRemoval: false });
  const args = [COMPOSE, 'deploy', '--stage', opts.stage, ...(opts.verbose ? ['--verbose'] : [])];
  const { code } = await run(process.execPath, args, { cwd: ROOT, env });
  return code;
}

/**
 * Removes the function services in parallel, then the shared resources. Through osls directly, not
 * compose: compose would first need every output of a stage it is about to delete.
 */
async function removeAll(opts) {
  const env = deployEnv(opts, { forRemoval: true });
  const params = PARAMS.filter((p) => p.required).flatMap((p) => ['--param', `${p.name}=${env[p.env]}`]);
  const remove = async (service) => {
    const args = [OSLS, 'remove', '--stage', opts.stage, ...params];
    const { code } = await run(process.execPath, args, { cwd: path.join(ROOT, 'services', service), env });
    return code;
  };
  const codes = await Promise.all(SERVICES.slice(1).map(remove));
  if (codes.some((c) => c !== 0)) return 1;
  return remove('resources');
}


/**
 * osls and serverless-esbuild build in each service folder (.esbuild/, .serverless/, emptied at the
 * start of every run), so two runs in one working tree would delete each other's files. One run at
 * a time per working tree: a lock directory (mkdir is atomic) naming its owner's pid, taken over if
 * that process is gone.
 */
async function withWorkingTreeLock(fn) {
  const id = crypto.createHash('sha256').update(ROOT).digest('hex').slice(0, 12);
  const lock = path.join(os.tmpdir(), `totes-serverless-${id}.lock`);
  const deadline = Date.now() + 15 * 60 * 1000;
  let told = false;
  for (;;) {
    try {
      fs.mkdirSync(lock);
      fs.writeFileSync(path.join(lock, 'pid'), String(process.pid));
      break;
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
      let owner = NaN;
      try {
        owner = Number(fs.readFileSync(path.join(lock, 'pid'), 'utf8'));
      } catch {
        // The owner has created the directory but not yet written its pid.
      }
      let alive = true;
      if (Number.isInteger(owner) && owner > 0) {
        try {
          process.kill(owner, 0);
        } catch (e) {
          alive = e.code === 'EPERM';
        }
      }
      if (!alive) {
        fs.rmSync(lock, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`Another packaging or deploy in ${ROOT} has held ${lock} for 15 minutes.`, { cause: err });
      if (!told) console.error(`Waiting for another packaging or deploy in this working tree (pid ${owner})…`);
      told = true;
      await sleep(250);
    }
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
}

async function main(argv) {
  const opts = parseArgs(argv);
  switch (opts.command) {
    case 'package':
      return withWorkingTreeLock(() => packageAll(opts));
    case 'deploy':
      return withWorkingTreeLock(() => deployAll(opts));
    case 'remove':
      return withWorkingTreeLock(() => removeAll(opts));
    default:
      throw new UsageError('Usage: node scripts/serverless.cjs package|deploy|remove [--stage S] [--region R] [--param name=value]... [--out DIR]');
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    console.error(err instanceof UsageError ? err.message : err);
    process.exitCode = err instanceof UsageError ? 2 : 1;
  },
);
