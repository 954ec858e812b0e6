import path from 'node:path';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { describeError } from '@totes/shared/errors';
import { EXIT } from './exit-codes';
import { createOutput, type Output } from './output';
import { runOnce } from './commands/run';
import { DEFAULT_INTERVAL_SECONDS, up } from './commands/up';
import { stackCommand } from './commands/stack';
import { dlqListCommand, dlqShowCommand, redriveCommand, statusCommand } from './commands/ops';
import { migrateCommand } from './commands/migrate';
import { seedCommand } from './commands/seed';
import { simulateCommand } from './commands/simulate';

/**
 * `totes`: the command line of totes-etl. Every command has --help; every error is one sentence
 * on stderr (--verbose adds the stack trace) and a non-zero exit code.
 */
function positiveNumber(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive number, not "${value}".`);
    return n;
  };
}

function nonNegativeNumber(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`${name} must be a number ≥ 0, not "${value}".`);
    return n;
  };
}

function nonNegativeInteger(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${name} must be a whole number ≥ 0, not "${value}".`);
    return n;
  };
}

const stateDirOption = () => new Option('--state-dir <dir>', 'where the local stack keeps its state').default('.totes');
const sourceUrlOption = () =>
  new Option('--source-url <url>', 'use this totesys PostgreSQL database instead of the embedded one (read only; TLS unless the URL says sslmode=disable)').env(
    'TOTES_SOURCE_URL',
  );
const warehouseUrlOption = () =>
  new Option('--warehouse-url <url>', 'use this warehouse PostgreSQL database instead of the embedded one (TLS unless the URL says sslmode=disable)').env(
    'TOTES_WAREHOUSE_URL',
  );
const freshOption = () => new Option('--fresh', 'delete the state directory first and start over');
const scaleOption = () => new Option('--scale <n>', 'size of the generated source (1 ≈ the real late-2024 volume)').argParser(positiveNumber('--scale')).default(1);
const seedOption = () => new Option('--seed <n>', 'seed of the data generator').argParser(nonNegativeInteger('--seed')).default(42);
const rateOption = () => new Option('--rate <n>', 'changes per second made in the embedded source by the change simulator (0: none)').argParser(nonNegativeNumber('--rate'));
const stageOption = () => new Option('--stage <stage>', 'operate a deployed stage (e.g. dev) instead of the local stack');
const regionOption = () => new Option('--region <region>', 'AWS region of the deployed stage').env('AWS_REGION').default('eu-west-2');

/** The options of every command that starts the local stack (and, with `seeding`, may seed it). */
function withStack(command: Command, { seeding }: { seeding: boolean }): Command {
  command.addOption(stateDirOption()).addOption(freshOption()).addOption(sourceUrlOption()).addOption(warehouseUrlOption());
  return seeding ? command.addOption(scaleOption()).addOption(seedOption()) : command;
}

interface CommonOptions {
  stateDir: string;
  sourceUrl?: string;
  warehouseUrl?: string;
  fresh?: boolean;
  scale?: number;
  seed?: number;
  stage?: string;
  region?: string;
}

function stackOptions(o: CommonOptions) {
  return {
    stateDir: path.resolve(o.stateDir),
    ...(o.fresh ? { fresh: true } : {}),
    ...(o.sourceUrl ? { sourceUrl: o.sourceUrl } : {}),
    ...(o.warehouseUrl ? { warehouseUrl: o.warehouseUrl } : {}),
    ...(o.scale !== undefined ? { scale: o.scale } : {}),
    ...(o.seed !== undefined ? { seed: o.seed } : {}),
    ...(o.stage ? { stage: o.stage } : {}),
    ...(o.region ? { region: o.region } : {}),
  };
}

export function buildProgram(out: () => Output, run: (task: () => Promise<number>) => Promise<void>): Command {
  const program = new Command('totes')
    .description('totes-etl: moves the totesys operational database into a star-schema warehouse, on AWS Lambda or on this machine.')
    .option('--verbose', 'print details and stack traces')
    .showHelpAfterError('(add --help for usage)')
    .exitOverride();

  withStack(program.command('up'), { seeding: true })
    .description('run the whole pipeline on this machine until Ctrl-C: embedded databases, emulators, a seeded source, live status (npm start)')
    .addOption(new Option('--interval <seconds>', 'seconds between change detections').argParser(positiveNumber('--interval')).default(DEFAULT_INTERVAL_SECONDS))
    .addOption(rateOption().default(2))
    .action((o: CommonOptions & { interval: number; rate: number }) => run(() => up({ ...stackOptions(o), interval: o.interval, rate: o.rate }, out())));

  withStack(program.command('run'), { seeding: true })
    .description('one complete pass: detect every table, process until every queue is drained, print a summary')
    .requiredOption('--once', 'run one pass and exit (required; `totes up` runs continuously)')
    .addHelpText('after', '\nExit codes: 0 all is well, 2 a message ended in a dead-letter queue, 3 rows were quarantined, 1 any other error.')
    .action((o: CommonOptions) => run(() => runOnce(stackOptions(o), out())));

  withStack(program.command('stack'), { seeding: false })
    .description('start only the local infrastructure (PostgreSQL, SQS, S3, DynamoDB) and print its endpoints')
    .action((o: CommonOptions) => run(() => stackCommand(stackOptions(o), out())));

  program
    .command('status')
    .description('per source table: batches, rows, lag, queue and DLQ depth, problems; warehouse row counts')
    .addOption(stateDirOption())
    .addOption(warehouseUrlOption())
    .addOption(stageOption())
    .addOption(regionOption())
    .action((o: CommonOptions) => run(() => statusCommand(stackOptions(o), out())));

  const dlq = program.command('dlq').description('inspect the dead-letter queues');
  dlq
    .command('list', { isDefault: true })
    .description('how many messages each DLQ holds (exit code 2 when any does)')
    .addOption(stateDirOption())
    .addOption(stageOption())
    .addOption(regionOption())
    .action((o: CommonOptions) => run(() => dlqListCommand(stackOptions(o), out())));
  dlq
    .command('show')
    .description('show the messages in one DLQ without removing them')
    .argument('<queue>', 'a queue: detect, load, transform-<table> or just <table>')
    .addOption(new Option('--limit <n>', 'at most this many (≤ 10)').argParser(positiveNumber('--limit')).default(10))
    .addOption(stateDirOption())
    .addOption(stageOption())
    .addOption(regionOption())
    .action((queue: string, o: CommonOptions & { limit: number }) => run(() => dlqShowCommand(queue, o.limit, stackOptions(o), out())));

  program
    .command('redrive')
    .description("move a DLQ's messages back to their queue once the cause is fixed")
    .argument('<queue>', 'a queue (detect, load, transform-<table> or <table>) or "all"')
    .addOption(stateDirOption())
    .addOption(stageOption())
    .addOption(regionOption())
    .action((queue: string, o: CommonOptions) => run(() => redriveCommand(queue, stackOptions(o), out())));

  program
    .command('seed')
    .description('fill the embedded source with generated totesys data, or with a folder of CSV files')
    .addOption(stateDirOption())
    .addOption(sourceUrlOption())
    .addOption(freshOption())
    .addOption(scaleOption())
    .addOption(seedOption())
    .addOption(new Option('--from-csv <dir>', 'import per-table CSV files (header row, empty field = NULL) instead of generating'))
    .action((o: CommonOptions & { fromCsv?: string }) =>
      run(() => seedCommand({ ...stackOptions(o), ...(o.fromCsv ? { fromCsv: path.resolve(o.fromCsv) } : {}) }, out())),
    );

  program
    .command('simulate')
    .description('make changes in the embedded source (new orders, payments paid, edits) at a steady rate')
    .addOption(stateDirOption())
    .addOption(sourceUrlOption())
    .addOption(rateOption().makeOptionMandatory())
    .addOption(seedOption())
    .addOption(new Option('--duration <seconds>', 'stop after this long').argParser(positiveNumber('--duration')))
    .action((o: CommonOptions & { rate: number; duration?: number }) =>
      run(() => simulateCommand({ ...stackOptions(o), rate: o.rate, ...(o.duration ? { duration: o.duration } : {}) }, out())),
    );

  program
    .command('migrate')
    .description('create or migrate the warehouse schema (numbered, idempotent migrations)')
    .addOption(stateDirOption())
    .addOption(warehouseUrlOption())
    .action((o: CommonOptions) => run(() => migrateCommand(stackOptions(o), out())));

  return program;
}

export async function main(argv: readonly string[]): Promise<number> {
  const verbose = argv.includes('--verbose');
  let output: Output | undefined;
  const out = () => (output ??= createOutput({ verbose }));
  let code: number = EXIT.ok;
  const run = async (task: () => Promise<number>) => {
    code = await task();
  };
  const program = buildProgram(out, run);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return code;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version requests are not errors; commander already printed the message.
      return err.code === 'commander.helpDisplayed' || err.code === 'commander.help' || err.code === 'commander.version' ? EXIT.ok : EXIT.error;
    }
    out().error(`totes: ${describeError(err)}`);
    if (verbose && err instanceof Error && err.stack) out().error(err.stack);
    return EXIT.error;
  }
}
