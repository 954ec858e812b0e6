import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { queueDefinitions, topology } from '@totes/shared/topology';
import {
  SERVICE_NAMES,
  bucketsPrivateAndEncrypted,
  dataBucketsRequireTls,
  dlqsAlarmToEmail,
  functionsOnSupportedRuntime,
  mappingsReportBatchItemFailures,
  metricAlarmsPerTable,
  ownRoleWithoutWildcards,
  queuesEncrypted,
  stateTableIsDurable,
  visibilityCoversConsumer,
  workQueuesHaveDlqs,
  type CfnResource,
  type Template,
  type Templates,
} from './template-rules';

/**
 * Packages every service offline, exactly as `npm run package` does, with no AWS credentials in the
 * environment (any AWS call would fail the packaging), and checks the CloudFormation it generates.
 */
const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '../../..');
const STAGE = 'ci';
const ALARM_EMAIL = 'pipeline-alarms@test.example';

let outDir: string;
let templates: Templates;

function withoutAwsCredentials(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('AWS_')) env[k] = v;
  return {
    ...env,
    AWS_SHARED_CREDENTIALS_FILE: path.join(os.tmpdir(), 'no-aws-credentials'),
    AWS_CONFIG_FILE: path.join(os.tmpdir(), 'no-aws-config'),
    AWS_EC2_METADATA_DISABLED: 'true',
  };
}

beforeAll(async () => {
  outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'totes-package-'));
  await run(
    process.execPath,
    [
      'scripts/serverless.cjs', 'package', '--stage', STAGE, '--out', outDir,
      '--param', `alarmEmail=${ALARM_EMAIL}`, '--param', `sourceSecretId=totes/${STAGE}/source`, '--param', `warehouseSecretId=totes/${STAGE}/warehouse`,
    ],
    { cwd: ROOT, env: withoutAwsCredentials(), timeout: 240_000 },
  );
  const read = (service: string): Template =>
    JSON.parse(fs.readFileSync(path.join(outDir, service, 'cloudformation-template-update-stack.json'), 'utf8')) as Template;
  templates = Object.fromEntries(SERVICE_NAMES.map((s) => [s, read(s)])) as Templates;
}, 300_000);

afterAll(() => {
  if (outDir) fs.rmSync(outDir, { recursive: true, force: true });
});

const clone = (t: Templates): Templates => structuredClone(t);
/** The properties of a resource in a cloned template, for a mutation. */
function props(t: Templates, service: keyof Templates, pick: (id: string, r: CfnResource) => boolean): Record<string, unknown> {
  const entry = Object.entries(t[service].Resources).find(([id, r]) => pick(id, r));
  if (!entry?.[1].Properties) throw new Error(`no such resource in ${service}`);
  return entry[1].Properties;
}
const ofType = (type: string) => (_: string, r: CfnResource) => r.Type === type;
const queueNamed = (name: string) => (_: string, r: CfnResource) => r.Type === 'AWS::SQS::Queue' && r.Properties?.QueueName === name;

describe('the packaged CloudFormation of every service', () => {
  const expectedQueues = queueDefinitions(STAGE).map((q) => q.name);

  it('has a DLQ for every work queue of infra/topology.json, taking over after at least 5 receives', () => {
    expect(expectedQueues).toHaveLength(13);
    expect(workQueuesHaveDlqs(templates, expectedQueues)).toEqual([]);
  });

  it('gives every work queue one consumer and a visibility timeout of at least 6 x its timeout', () => {
    expect(visibilityCoversConsumer(templates)).toEqual([]);
  });

  it('alarms on every DLQ holding a message, through an SNS topic emailing the address passed as a param', () => {
    expect(dlqsAlarmToEmail(templates, ALARM_EMAIL)).toEqual([]);
  });

  it('makes every SQS event source mapping report batch item failures', () => {
    const mappings = Object.values(templates).flatMap((t) => Object.values(t.Resources)).filter((r) => r.Type === 'AWS::Lambda::EventSourceMapping');
    expect(mappings).toHaveLength(expectedQueues.length);
    expect(mappingsReportBatchItemFailures(templates)).toEqual([]);
  });

  it('deploys exactly the functions of infra/topology.json, each on nodejs22.x or newer', () => {
    const names = Object.values(templates)
      .flatMap((t) => Object.values(t.Resources))
      .filter((r) => r.Type === 'AWS::Lambda::Function')
      .map((r) => String(r.Properties?.FunctionName));
    const expected = [
      'totes-etl-change-detector-ci-schedule',
      'totes-etl-change-detector-ci-detect',
      ...topology.sourceTables.map((t) => `totes-etl-transformer-ci-transform-${t}`),
      'totes-etl-warehouse-loader-ci-load',
    ];
    expect(names.sort()).toEqual(expected.sort());
    expect(functionsOnSupportedRuntime(templates)).toEqual([]);
  });

  it('gives each function its own IAM role with no wildcard actions', () => {
    expect(ownRoleWithoutWildcards(templates)).toEqual([]);
  });

  it('blocks public access to every bucket and encrypts it, and the data buckets refuse non-TLS requests', () => {
    expect(bucketsPrivateAndEncrypted(templates)).toEqual([]);
    expect(dataBucketsRequireTls(templates)).toEqual([]);
  });

  it('encrypts every queue, DLQs included', () => {
    expect(queuesEncrypted(templates)).toEqual([]);
  });

  it('keeps state in one encrypted on-demand table keyed by pk, with point-in-time recovery', () => {
    expect(stateTableIsDurable(templates, topology.stateTable.partitionKey)).toEqual([]);
  });

  it('alarms on DetectionErrors and QuarantinedRows for every source table', () => {
    expect(metricAlarmsPerTable(templates, 'DetectionErrors', topology.sourceTables)).toEqual([]);
    expect(metricAlarmsPerTable(templates, 'QuarantinedRows', topology.sourceTables)).toEqual([]);
  });

  it('points every function at the shared resources through its environment', () => {
    for (const service of ['change-detector', 'transformer', 'warehouse-loader'] as const) {
      for (const r of Object.values(templates[service].Resources).filter((x) => x.Type === 'AWS::Lambda::Function')) {
        const env = (r.Properties?.Environment as { Variables: Record<string, unknown> }).Variables;
        expect(env).toMatchObject({
          TOTES_STAGE: STAGE,
          TOTES_STATE_TABLE: `totes-etl-${STAGE}-state`,
          TOTES_QUEUE_PREFIX: `totes-etl-${STAGE}`,
          POWERTOOLS_METRICS_NAMESPACE: 'TotesEtl',
          NODE_EXTRA_CA_CERTS: '/var/runtime/ca-cert.pem',
        });
        const db = service === 'warehouse-loader' ? 'WAREHOUSE' : 'SOURCE';
        expect(env[`TOTES_${db}_SECRET_ID`]).toBe(`totes/${STAGE}/${db.toLowerCase()}`);
        expect(env[`TOTES_${db}_SSL`]).toBe('verify-full');
        expect(lambdaEnvironment(env)).toMatchObject({
          TOTES_INGESTION_BUCKET: `totes-etl-${STAGE}-ingestion-123456789012-eu-west-2`,
          TOTES_PROCESSED_BUCKET: `totes-etl-${STAGE}-processed-123456789012-eu-west-2`,
        });
      }
    }
  });

  it('bundles each function into a module that loads with only the AWS SDK provided, as in Lambda', async () => {
    // The Lambda runtime provides @aws-sdk/*; nothing else outside the bundle may be needed.
    const sdkOnly = fs.mkdtempSync(path.join(os.tmpdir(), 'totes-sdk-'));
    fs.mkdirSync(path.join(sdkOnly, 'node_modules'));
    fs.symlinkSync(path.join(ROOT, 'node_modules', '@aws-sdk'), path.join(sdkOnly, 'node_modules', '@aws-sdk'));
    const loaded = new Set<string>();
    try {
      for (const service of ['change-detector', 'transformer', 'warehouse-loader'] as const) {
        for (const [id, r] of Object.entries(templates[service].Resources).filter(([, x]) => x.Type === 'AWS::Lambda::Function')) {
          const p = r.Properties as { Handler: string; FunctionName: string; Environment: { Variables: Record<string, unknown> }; Code: { S3Key: string } };
          const zip = path.join(outDir, service, path.basename(p.Code.S3Key));
          // The 11 transform-<table> zips hold the same bundle: load each distinct bundle and export once.
          const distinct = `${createHash('sha256').update(fs.readFileSync(zip)).digest('hex')} ${p.Handler}`;
          if (loaded.has(distinct)) continue;
          loaded.add(distinct);
          const dir = fs.mkdtempSync(path.join(sdkOnly, `${id}-`));
          unzipTo(zip, dir);
          const [file, exportName] = [p.Handler.slice(0, p.Handler.lastIndexOf('.')), p.Handler.slice(p.Handler.lastIndexOf('.') + 1)];
          const env = { PATH: process.env.PATH, AWS_REGION: 'eu-west-2', AWS_LAMBDA_FUNCTION_NAME: p.FunctionName, ...lambdaEnvironment(p.Environment.Variables) };
          const probe = `const m = require(${JSON.stringify(path.join(dir, `${file}.js`))}); if (typeof m[${JSON.stringify(exportName)}] !== 'function') { console.error('no export ${exportName}'); process.exit(3); }`;
          await expect(run(process.execPath, ['-e', probe], { cwd: dir, env: { ...env, NODE_PATH: path.join(sdkOnly, 'node_modules') }, timeout: 60_000 })).resolves.toBeDefined();
        }
      }
      expect(loaded.size).toBeGreaterThanOrEqual(3);
    } finally {
      fs.rmSync(sdkOnly, { recursive: true, force: true });
    }
  }, 120_000);
});

describe('the template rules', () => {
  // Each rule must report a template that breaks it; otherwise the checks above could pass vacuously.
  const name = (logical: string) => `totes-etl-${STAGE}-${logical}`;
  const cases: Array<[string, (t: Templates) => void, (t: Templates) => string[]]> = [
    ['a work queue without redrive policy', (t) => delete props(t, 'resources', queueNamed(name('load'))).RedrivePolicy, (t) => workQueuesHaveDlqs(t, queueDefinitions(STAGE).map((q) => q.name))],
    ['a maxReceiveCount of 3', (t) => ((props(t, 'resources', queueNamed(name('detect'))).RedrivePolicy as { maxReceiveCount: number }).maxReceiveCount = 3), (t) => workQueuesHaveDlqs(t, [name('detect')])],
    ['a visibility timeout of 5 x the consumer timeout', (t) => (props(t, 'resources', queueNamed(name('transform-staff'))).VisibilityTimeout = 5 * 120), visibilityCoversConsumer],
    ['a DLQ alarm without actions', (t) => delete props(t, 'resources', ofType('AWS::CloudWatch::Alarm')).AlarmActions, (t) => dlqsAlarmToEmail(t, ALARM_EMAIL)],
    ['an alarm topic subscribed by another address', (t) => (props(t, 'resources', ofType('AWS::SNS::Subscription')).Endpoint = 'someone@else.example'), (t) => dlqsAlarmToEmail(t, ALARM_EMAIL)],
    ['an event source mapping without partial batch responses', (t) => delete props(t, 'transformer', ofType('AWS::Lambda::EventSourceMapping')).FunctionResponseTypes, mappingsReportBatchItemFailures],
    ['a function on nodejs20.x', (t) => (props(t, 'warehouse-loader', ofType('AWS::Lambda::Function')).Runtime = 'nodejs20.x'), functionsOnSupportedRuntime],
    ['two functions sharing a role', (t) => {
      const [a, b] = Object.values(t.transformer.Resources).filter((r) => r.Type === 'AWS::Lambda::Function');
      if (a?.Properties && b?.Properties) b.Properties.Role = a.Properties.Role;
    }, ownRoleWithoutWildcards],
    ['a wildcard action', (t) => {
      const role = props(t, 'change-detector', ofType('AWS::IAM::Role')) as { Policies: Array<{ PolicyDocument: { Statement: Array<{ Action: string[] }> } }> };
      role.Policies[0]!.PolicyDocument.Statement[0]!.Action = ['s3:*'];
    }, ownRoleWithoutWildcards],
    ['a bucket without a public access block', (t) => delete props(t, 'resources', ofType('AWS::S3::Bucket')).PublicAccessBlockConfiguration, bucketsPrivateAndEncrypted],
    ['a bucket without encryption', (t) => delete props(t, 'transformer', ofType('AWS::S3::Bucket')).BucketEncryption, bucketsPrivateAndEncrypted],
    ['an unencrypted DLQ', (t) => (props(t, 'resources', queueNamed(name('load-dlq'))).SqsManagedSseEnabled = false), queuesEncrypted],
  ];

  it.each(cases)('report %s', (_what, mutate, rule) => {
    const broken = clone(templates);
    mutate(broken);
    expect(rule(templates)).toEqual([]);
    expect(rule(broken).length).toBeGreaterThan(0);
  });
});

/** Environment values as Lambda sees them: CloudFormation pseudo parameters replaced by examples. */
function lambdaEnvironment(vars: Record<string, unknown>): Record<string, string> {
  const pseudo: Record<string, string> = { 'AWS::AccountId': '123456789012', 'AWS::Region': 'eu-west-2', 'AWS::Partition': 'aws' };
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(vars)) {
    const text = typeof v === 'string' ? v : (v as { 'Fn::Sub'?: string })['Fn::Sub'];
    if (typeof text !== 'string') throw new Error(`${k} is neither a string nor an Fn::Sub`);
    out[k] = text.replace(/\$\{([^}]+)\}/g, (_, name: string) => pseudo[name] ?? `<${name}>`);
  }
  return out;
}

/** Extracts a zip written by Serverless (stored or deflated entries), without an unzip binary. */
function unzipTo(zipFile: string, dir: string): void {
  const buf = fs.readFileSync(zipFile);
  const eocd = buf.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  let at = buf.readUInt32LE(eocd + 16);
  for (let n = buf.readUInt16LE(eocd + 10); n > 0; n -= 1) {
    const method = buf.readUInt16LE(at + 10);
    const compressed = buf.readUInt32LE(at + 20);
    const nameLength = buf.readUInt16LE(at + 28);
    const skip = nameLength + buf.readUInt16LE(at + 30) + buf.readUInt16LE(at + 32);
    const name = buf.toString('utf8', at + 46, at + 46 + nameLength);
    const local = buf.readUInt32LE(at + 42);
    const start = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
    const data = buf.subarray(start, start + compressed);
    const target = path.join(dir, name);
    if (!name.endsWith('/')) {
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.writeFileSync(target, method === 8 ? zlib.inflateRawSync(data) : data);
    }
    at += 46 + skip;
  }
}
