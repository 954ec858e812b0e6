import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { queueDefinitions, topology } from '@totes/shared/topology';
import { TRANSFORM_TARGETS } from '../../../shared/src/topology';
import {
  SERVICE_NAMES,
  asyncInvocationsKeepFailures,
  bucketsPrivateAndEncrypted,
  countAlarmsPerTable,
  dataBucketsRequireTls,
  dlqsAlarmToEmail,
  freshnessAlarmsPerTable,
  functionsOnSupportedRuntime,
  lambdaAlarmsForEveryFunction,
  mappingsReportBatchItemFailures,
  metricAlarmsPerTable,
  ownRoleWithoutWildcards,
  queuesEncrypted,
  s3GrantsAreExactly,
  stateGrantsAreExactly,
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
const withId = (logicalId: string) => (id: string) => id === logicalId;
/** The inline policy statements of a role in a cloned template, for a mutation. */
function statements(t: Templates, service: keyof Templates, roleId: string): Array<Record<string, unknown>> {
  const role = props(t, service, withId(roleId)) as { Policies: Array<{ PolicyDocument: { Statement: Array<Record<string, unknown>> } }> };
  return role.Policies[0]!.PolicyDocument.Statement;
}
function statement(t: Templates, service: keyof Templates, roleId: string, sid: string): Record<string, unknown> {
  const found = statements(t, service, roleId).find((s) => s.Sid === sid);
  if (!found) throw new Error(`${roleId} has no statement ${sid}`);
  return found;
}
const fnName = (service: string, key: string) => `totes-etl-${service}-${STAGE}-${key}`;
/** The schedule rule's one target, in a cloned template. */
function scheduleTarget(t: Templates): Record<string, unknown> {
  const rule = props(t, 'change-detector', ofType('AWS::Events::Rule')) as { Targets: Array<Record<string, unknown>> };
  return rule.Targets[0]!;
}

/**
 * What each function may do in S3, written from the data flow (docs/deploy.md), not from
 * topology.cjs: the transform roles from the targets the transformer derives (TRANSFORM_TARGETS). A ListBucket grant is
 * limited to the prefixes read, so that a missing key reads as 404, not 403.
 */
const bucketPrefixGrants = (bucket: string, read: string[], write: string[]) => [
  ...read.map((p) => `s3:GetObject ${bucket}/${p}*`),
  ...read.map((p) => `s3:ListBucket ${bucket} prefix=${p}*`),
  ...write.map((p) => `s3:PutObject ${bucket}/${p}*`),
];
const EXPECTED_S3: Record<string, string[]> = {
  [fnName('change-detector', 'schedule')]: [],
  [fnName('change-detector', 'detect')]: bucketPrefixGrants('ingestion', ['state/'], ['raw/', 'state/']),
  ...Object.fromEntries(
    topology.sourceTables.map((table) => {
      const processed = TRANSFORM_TARGETS[table as keyof typeof TRANSFORM_TARGETS].map((target) => `processed/${target}/`);
      return [
        fnName('transformer', `transform-${table}`),
        [...bucketPrefixGrants('ingestion', [`raw/${table}/`], []), ...bucketPrefixGrants('processed', processed, [...processed, `quarantine/${table}/`])],
      ];
    }),
  ),
  [fnName('warehouse-loader', 'load')]: bucketPrefixGrants('processed', ['processed/'], []),
};
/** The state table calls each function's code makes (shared/src/state/*), on the item key prefixes it uses. */
const EXPECTED_STATE: Record<string, { actions: string[]; keys: string[] }> = {
  [fnName('change-detector', 'schedule')]: { actions: [], keys: [] },
  [fnName('change-detector', 'detect')]: {
    actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
    keys: ['batch#*', 'watermark#*', 'lease#*'],
  },
  ...Object.fromEntries(topology.sourceTables.map((table) => [fnName('transformer', `transform-${table}`), { actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'], keys: ['batch#*'] }])),
  [fnName('warehouse-loader', 'load')]: { actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'], keys: ['batch#*'] },
};
/** SPEC §4: a change in the warehouse within 30 minutes; a stuck table must alarm well inside that. */
const FRESHNESS_WINDOW_SECONDS = 15 * 60;
const offClockAlarms = (t: Templates) => countAlarmsPerTable(t, 'RowsOffClock', 'change-detector', topology.sourceTables, ALARM_EMAIL, 300);
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

  it('alarms on RowsOffClock of every source table: Sum above 0 over 5 minutes, no data not breaching, by email', () => {
    expect(countAlarmsPerTable(templates, 'RowsOffClock', 'change-detector', topology.sourceTables, ALARM_EMAIL, 300)).toEqual([]);
  });

  it('keeps the scheduler\'s failures: a retry policy and a DLQ on its EventBridge target, an on-failure destination on the function', () => {
    expect(Object.values(templates['change-detector'].Resources).filter((r) => r.Type === 'AWS::Events::Rule')).toHaveLength(1);
    expect(asyncInvocationsKeepFailures(templates)).toEqual([]);
  });

  it('alarms on Errors and Throttles of every function, through the SNS topic emailing the address passed as a param', () => {
    expect(lambdaAlarmsForEveryFunction(templates, 'Errors', ALARM_EMAIL)).toEqual([]);
    expect(lambdaAlarmsForEveryFunction(templates, 'Throttles', ALARM_EMAIL)).toEqual([]);
  });

  it('alarms when no detection of a source table completed for 15 minutes, missing data counting as breaching', () => {
    expect(freshnessAlarmsPerTable(templates, topology.sourceTables, ALARM_EMAIL, FRESHNESS_WINDOW_SECONDS)).toEqual([]);
  });

  it('grants each function exactly the S3 prefixes it uses: transform-<table> its own raw, processed and quarantine prefixes', () => {
    expect(Object.keys(EXPECTED_S3)).toHaveLength(topology.sourceTables.length + 3);
    expect(s3GrantsAreExactly(templates, EXPECTED_S3)).toEqual([]);
  });

  it('grants each function exactly the state table calls its code makes, on the item keys it uses', () => {
    expect(stateGrantsAreExactly(templates, EXPECTED_STATE)).toEqual([]);
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
    ['an unencrypted scheduler DLQ', (t) => (props(t, 'resources', queueNamed(name('schedule-dlq'))).SqsManagedSseEnabled = false), queuesEncrypted],
    // The scheduler's failures.
    ['a schedule target without a DLQ', (t) => delete scheduleTarget(t).DeadLetterConfig, asyncInvocationsKeepFailures],
    ['a schedule target without a retry policy', (t) => delete scheduleTarget(t).RetryPolicy, asyncInvocationsKeepFailures],
    ['a scheduler DLQ whose policy admits another rule', (t) => {
      const statementOf = props(t, 'resources', ofType('AWS::SQS::QueuePolicy')) as { PolicyDocument: { Statement: Array<{ Condition: { ArnEquals: Record<string, unknown> } }> } };
      statementOf.PolicyDocument.Statement[0]!.Condition.ArnEquals['aws:SourceArn'] = `arn:aws:events:eu-west-2:123456789012:rule/${name('other')}`;
    }, asyncInvocationsKeepFailures],
    ['a scheduler without an on-failure destination', (t) => delete props(t, 'change-detector', ofType('AWS::Lambda::EventInvokeConfig')).DestinationConfig, asyncInvocationsKeepFailures],
    ['a scheduler role that may not send to its destination', (t) => {
      const list = statements(t, 'change-detector', 'ScheduleRole');
      list.splice(list.findIndex((s) => s.Sid === 'SendFailuresToDlq'), 1);
    }, asyncInvocationsKeepFailures],
    ['a scheduler DLQ without an alarm', (t) => delete t.resources.Resources.ScheduleDlqAlarm, (t) => dlqsAlarmToEmail(t, ALARM_EMAIL)],
    ['a scheduler DLQ no failure is sent to', (t) => {
      delete scheduleTarget(t).DeadLetterConfig;
      delete props(t, 'change-detector', ofType('AWS::Lambda::EventInvokeConfig')).DestinationConfig;
    }, (t) => workQueuesHaveDlqs(t, [])],
    // Lambda alarms.
    ['a function without an Errors alarm', (t) => delete t.resources.Resources.TransformPaymentErrorsAlarm, (t) => lambdaAlarmsForEveryFunction(t, 'Errors', ALARM_EMAIL)],
    ['an Errors alarm on another function', (t) => (props(t, 'resources', withId('LoadErrorsAlarm')).Dimensions = [{ Name: 'FunctionName', Value: fnName('warehouse-loader', 'unload') }]), (t) => lambdaAlarmsForEveryFunction(t, 'Errors', ALARM_EMAIL)],
    ['an Errors alarm with an extra dimension', (t) => (props(t, 'resources', withId('DetectErrorsAlarm')).Dimensions as unknown[]).push({ Name: 'Resource', Value: 'x' }), (t) => lambdaAlarmsForEveryFunction(t, 'Errors', ALARM_EMAIL)],
    ['an Errors alarm above 5 errors', (t) => (props(t, 'resources', withId('ScheduleErrorsAlarm')).Threshold = 5), (t) => lambdaAlarmsForEveryFunction(t, 'Errors', ALARM_EMAIL)],
    ['a Throttles alarm without actions', (t) => delete props(t, 'resources', withId('TransformStaffThrottlesAlarm')).AlarmActions, (t) => lambdaAlarmsForEveryFunction(t, 'Throttles', ALARM_EMAIL)],
    // Freshness alarms.
    ['a table without a freshness alarm', (t) => delete t.resources.Resources.CurrencyFreshnessAlarm, (t) => freshnessAlarmsPerTable(t, topology.sourceTables, ALARM_EMAIL, FRESHNESS_WINDOW_SECONDS)],
    ['a freshness alarm treating missing data as not breaching', (t) => (props(t, 'resources', withId('PaymentFreshnessAlarm')).TreatMissingData = 'notBreaching'), (t) => freshnessAlarmsPerTable(t, topology.sourceTables, ALARM_EMAIL, FRESHNESS_WINDOW_SECONDS)],
    ['a freshness alarm over 45 minutes', (t) => (props(t, 'resources', withId('StaffFreshnessAlarm')).Period = 900), (t) => freshnessAlarmsPerTable(t, topology.sourceTables, ALARM_EMAIL, FRESHNESS_WINDOW_SECONDS)],
    ['a freshness alarm without the service dimension', (t) => (props(t, 'resources', withId('DesignFreshnessAlarm')).Dimensions = [{ Name: 'table', Value: 'design' }]), (t) => freshnessAlarmsPerTable(t, topology.sourceTables, ALARM_EMAIL, FRESHNESS_WINDOW_SECONDS)],
    ['a freshness alarm firing on passes instead of their absence', (t) => (props(t, 'resources', withId('AddressFreshnessAlarm')).ComparisonOperator = 'GreaterThanThreshold'), (t) => freshnessAlarmsPerTable(t, topology.sourceTables, ALARM_EMAIL, FRESHNESS_WINDOW_SECONDS)],
    ['a freshness alarm without actions', (t) => delete props(t, 'resources', withId('TransactionFreshnessAlarm')).AlarmActions, (t) => freshnessAlarmsPerTable(t, topology.sourceTables, ALARM_EMAIL, FRESHNESS_WINDOW_SECONDS)],
    // RowsOffClock alarms.
    ['a table without a RowsOffClock alarm', (t) => delete t.resources.Resources.SalesOrderRowsOffClockAlarm, offClockAlarms],
    ['a RowsOffClock alarm on the transformer\'s dimensions', (t) => ((props(t, 'resources', withId('PaymentRowsOffClockAlarm')).Dimensions as Array<{ Value: string }>)[0]!.Value = 'transformer'), offClockAlarms],
    ['a RowsOffClock alarm on the Average', (t) => (props(t, 'resources', withId('CurrencyRowsOffClockAlarm')).Statistic = 'Average'), offClockAlarms],
    ['a RowsOffClock alarm over an hour', (t) => (props(t, 'resources', withId('StaffRowsOffClockAlarm')).Period = 3600), offClockAlarms],
    ['a RowsOffClock alarm breaching on no data', (t) => (props(t, 'resources', withId('DesignRowsOffClockAlarm')).TreatMissingData = 'breaching'), offClockAlarms],
    ['a RowsOffClock alarm without actions', (t) => delete props(t, 'resources', withId('AddressRowsOffClockAlarm')).AlarmActions, offClockAlarms],
    // S3 scope.
    ['a transform role writing every processed table', (t) => {
      const write = statement(t, 'transformer', 'TransformPaymentRole', 'WriteProcessedObjects');
      write.Resource = [{ 'Fn::Sub': `arn:\${AWS::Partition}:s3:::totes-etl-${STAGE}-processed-\${AWS::AccountId}-\${AWS::Region}/processed/*` }];
    }, (t) => s3GrantsAreExactly(t, EXPECTED_S3)],
    ['a transform role writing another table\'s quarantine', (t) => {
      const write = statement(t, 'transformer', 'TransformPaymentRole', 'WriteProcessedObjects');
      (write.Resource as unknown[]).push({ 'Fn::Sub': `arn:\${AWS::Partition}:s3:::totes-etl-${STAGE}-processed-\${AWS::AccountId}-\${AWS::Region}/quarantine/address/*` });
    }, (t) => s3GrantsAreExactly(t, EXPECTED_S3)],
    ['a transform role reading every raw table', (t) => {
      const read = statement(t, 'transformer', 'TransformDesignRole', 'ReadIngestionObjects');
      read.Resource = [{ 'Fn::Sub': `arn:\${AWS::Partition}:s3:::totes-etl-${STAGE}-ingestion-\${AWS::AccountId}-\${AWS::Region}/raw/*` }];
    }, (t) => s3GrantsAreExactly(t, EXPECTED_S3)],
    ['a ListBucket grant without a prefix condition', (t) => delete statement(t, 'transformer', 'TransformCurrencyRole', 'ListIngestionBucket').Condition, (t) => s3GrantsAreExactly(t, EXPECTED_S3)],
    ['a detect role reading raw/', (t) => {
      const read = statement(t, 'change-detector', 'DetectRole', 'ReadIngestionObjects');
      (read.Resource as unknown[]).push({ 'Fn::Sub': `arn:\${AWS::Partition}:s3:::totes-etl-${STAGE}-ingestion-\${AWS::AccountId}-\${AWS::Region}/raw/*` });
    }, (t) => s3GrantsAreExactly(t, EXPECTED_S3)],
    ['a loader role writing processed/', (t) => (statement(t, 'warehouse-loader', 'LoadRole', 'ReadProcessedObjects').Action = ['s3:GetObject', 's3:PutObject']), (t) => s3GrantsAreExactly(t, EXPECTED_S3)],
    // DynamoDB scope.
    ['a loader role with PutItem', (t) => (statement(t, 'warehouse-loader', 'LoadRole', 'ReadWriteState').Action as string[]).push('dynamodb:PutItem'), (t) => stateGrantsAreExactly(t, EXPECTED_STATE)],
    ['a transform role with DeleteItem', (t) => (statement(t, 'transformer', 'TransformSalesOrderRole', 'ReadWriteState').Action as string[]).push('dynamodb:DeleteItem'), (t) => stateGrantsAreExactly(t, EXPECTED_STATE)],
    ['a transform role on every state item', (t) => delete statement(t, 'transformer', 'TransformAddressRole', 'ReadWriteState').Condition, (t) => stateGrantsAreExactly(t, EXPECTED_STATE)],
    ['a transform role on lease items', (t) => {
      const s = statement(t, 'transformer', 'TransformStaffRole', 'ReadWriteState') as { Condition: Record<string, Record<string, string[]>> };
      s.Condition['ForAllValues:StringLike']!['dynamodb:LeadingKeys']!.push('lease#*');
    }, (t) => stateGrantsAreExactly(t, EXPECTED_STATE)],
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
