'use strict';

/**
 * Renders the CloudFormation of the four services from infra/topology.json, the one definition of
 * the pipeline's queues, buckets, state table and function limits. The local stack reads the same
 * file (shared/src/topology.ts), so what runs on one machine and what runs in AWS cannot drift.
 *
 * serverless.yml files use it as `${file(../resources/topology.cjs):<export>}`. Each export is a
 * function osls (and Serverless v3/v4) calls with `{ options, resolveVariable }`, so it can read the
 * stage and the `--param` values. Nothing here calls AWS: every account- or region-specific value is
 * a CloudFormation expression (`Fn::Sub` with `${AWS::AccountId}`), so `serverless package` works
 * offline and without credentials.
 *
 * Naming mirrors shared/src/topology.ts: queue `<app>-<stage>-<logical>` and `<...>-dlq`, state table
 * `<app>-<stage>-state`. Bucket names must be globally unique in AWS, so they carry the account id
 * and region: `<app>-<stage>-ingestion-<account>-<region>`.
 *
 * Every alarm lives in the resources stack, beside the SNS topic it notifies: those on the pipeline's
 * metrics, on each DLQ, and on each function's Lambda metrics (functions are named explicitly, by
 * lambdaName, so the alarms can name them before the function stacks exist).
 */

const topology = require('../../infra/topology.json');

const APP = topology.app;
const METRICS_NAMESPACE = 'TotesEtl';
/** DLQs keep messages for SQS's maximum, 14 days, so a failure can wait for a person. */
const DLQ_RETENTION_SECONDS = 1_209_600;
/** Work queues keep messages 4 days (the SQS default), far longer than any retry cycle. */
const QUEUE_RETENTION_SECONDS = 345_600;
/** Lambda's SQS poller needs these three on the queue it consumes (as AWSLambdaSQSQueueExecutionRole). */
const CONSUME_ACTIONS = ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'];
/** SqsMessageSender resolves a queue URL once per container, then sends in batches of ten. */
const SEND_ACTIONS = ['sqs:GetQueueUrl', 'sqs:SendMessage'];
/**
 * State table items by key prefix (shared/src/state/*): `batch#` (batch-store: Put by the detector,
 * Get and conditional Update by all three), `watermark#` (Get, Put) and `lease#` (Put, Get, Update
 * to renew, Delete to release), both the detector's alone. Nothing uses Powertools idempotency, and
 * `totes status` scans from the CLI, not from a function. Each role gets the item actions its code
 * calls, on the key prefixes it touches (dynamodb:LeadingKeys).
 */
const STATE_ACCESS = {
  detect: { actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'], keys: ['batch#*', 'watermark#*', 'lease#*'] },
  transform: { actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'], keys: ['batch#*'] },
  load: { actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'], keys: ['batch#*'] },
};
/**
 * The scheduler is invoked asynchronously (EventBridge → Lambda), so no queue and no DLQ stand
 * behind it. Two things can fail, each caught here and sent to the DLQ `<app>-<stage>-schedule-dlq`:
 *   - EventBridge cannot hand the event to Lambda (the function or its permission is gone, Lambda
 *     refuses the call): it retries for up to `retry.maximumEventAge` seconds, then the rule
 *     target's dead-letter config sends the event;
 *   - Lambda accepted the event, but the function failed `async.maximumRetryAttempts` + 1 times, or
 *     could not run (throttled) before the event was `async.maximumEventAge` seconds old: its
 *     on-failure destination sends the invocation record.
 * A tick older than 5 minutes is useless (a newer one has run or will), hence the short ages.
 */
const SCHEDULE_FAILURES = {
  dlqLogicalName: 'schedule',
  retry: { maximumEventAge: 300, maximumRetryAttempts: 5 },
  async: { maximumEventAge: 300, maximumRetryAttempts: 2 },
};
/**
 * Alarms on the pipeline's own metrics and on Lambda's. A freshness alarm per table fires when no
 * detection of it completed in 3 consecutive 5-minute periods (missing data counts as breaching), so
 * a stuck table is reported 15-20 minutes after its last pass, inside SPEC §4's 30 minutes.
 */
const ALARM_PERIOD_SECONDS = 300;
const FRESHNESS_PERIODS = 3;
/** Lambda creates and removes its network interfaces itself; EC2 has no resource-level scoping for these. */
const VPC_ACTIONS = [
  'ec2:CreateNetworkInterface',
  'ec2:DescribeNetworkInterfaces',
  'ec2:DescribeSubnets',
  'ec2:DeleteNetworkInterface',
  'ec2:AssignPrivateIpAddresses',
  'ec2:UnassignPrivateIpAddresses',
];

/** Values the code reads at run time (shared/src/config/index.ts) that do not depend on the deployment. */
const SSL_MODE = 'verify-full';
/** Node 20+ Lambda runtimes ship the RDS certificate authorities here but do not load them by default. */
const RDS_CA_BUNDLE = '/var/runtime/ca-cert.pem';

/**
 * What each function may touch: the pipeline's data flow written once. A role is rendered from this
 * entry and nothing else, so widening a permission is a visible one-line change here.
 *   consumes: the queue its event source mapping polls (null for the scheduled function)
 *   sends:    logical queues it sends to
 *   state:    state table item actions and the key prefixes they may touch (STATE_ACCESS), or null
 *   objects:  S3 access by bucket role: key prefixes read (GetObject) and written (PutObject)
 *   database: which database secret it reads
 *   failures: the DLQ its asynchronous failures go to (SCHEDULE_FAILURES), or null
 */
function accessOf(fn, queue) {
  const transformQueues = topology.sourceTables.map((t) => `transform-${t}`);
  switch (fn) {
    case 'schedule':
      return { consumes: null, sends: ['detect'], state: null, objects: [], database: null, failures: SCHEDULE_FAILURES.dlqLogicalName };
    case 'detect':
      return {
        consumes: queue,
        sends: transformQueues,
        state: STATE_ACCESS.detect,
        // raw/: the extracted pages (written, never read back); state/: the detector's ambiguous-row
        // lists (docs/change-detection.md), read back and probed with exists().
        objects: [{ bucket: 'ingestion', read: ['state/'], write: ['raw/', 'state/'] }],
        database: 'source',
        failures: null,
      };
    case 'transform': {
      const table = queue.sourceTable;
      const targets = topology.transformTargets[table];
      if (!targets) throw new Error(`infra/topology.json has no transformTargets for the ${table} table`);
      const processed = targets.map((t) => `processed/${t}/`);
      return {
        consumes: queue,
        sends: ['load'],
        state: STATE_ACCESS.transform,
        objects: [
          { bucket: 'ingestion', read: [`raw/${table}/`], write: [] },
          // A redelivered batch reads back the Parquet file an earlier attempt wrote (transform-batch.ts
          // writeFile); quarantine files are only written.
          { bucket: 'processed', read: processed, write: [...processed, `quarantine/${table}/`] },
        ],
        database: 'source',
        failures: null,
      };
    }
    case 'load':
      return {
        consumes: queue,
        sends: [],
        state: STATE_ACCESS.load,
        objects: [{ bucket: 'processed', read: ['processed/'], write: [] }],
        database: 'warehouse',
        failures: null,
      };
    default:
      throw new Error(`infra/topology.json names a function "${fn}" that services/resources/topology.cjs does not know`);
  }
}

/** The database each service's code connects to; the variable names are those config/index.ts reads. */
const SERVICE_DATABASE = { 'change-detector': 'source', transformer: 'source', 'warehouse-loader': 'warehouse' };

// ---------- names ----------

function pascal(name) {
  return name
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((part) => part[0].toUpperCase() + part.slice(1))
    .join('');
}

/** Every work queue with its DLQ, in the order of shared/src/topology.ts queueDefinitions(). */
function queueDefinitions(stage) {
  const prefix = `${APP}-${stage}`;
  const out = [];
  for (const [key, q] of Object.entries(topology.queues)) {
    const logicalNames = q.perSourceTable ? topology.sourceTables.map((t) => `${key}-${t}`) : [key];
    logicalNames.forEach((logicalName, i) => {
      const consumer = topology.functions[q.consumer];
      if (!consumer) throw new Error(`infra/topology.json: queue ${key} names an unknown consumer ${q.consumer}`);
      out.push({
        key,
        logicalName,
        id: pascal(logicalName),
        name: `${prefix}-${logicalName}`,
        dlqName: `${prefix}-${logicalName}-dlq`,
        consumer: q.consumer,
        consumerFunctionKey: q.perSourceTable ? logicalName : q.consumer,
        sourceTable: q.perSourceTable ? topology.sourceTables[i] : undefined,
        batchSize: q.batchSize,
        maxConcurrency: q.maxConcurrency,
        maxReceiveCount: q.maxReceiveCount,
        // AWS: at least 6x the consumer's timeout, so a message is not redelivered while a retried batch still runs.
        visibilityTimeoutSeconds: 6 * consumer.timeoutSeconds,
      });
    });
  }
  return out;
}

const sub = (template) => ({ 'Fn::Sub': template });
// Fn::Join rather than Fn::Sub: Serverless names an event source mapping after the last element of its ARN.
const queueArn = (name) => ({
  'Fn::Join': [':', ['arn', { Ref: 'AWS::Partition' }, 'sqs', { Ref: 'AWS::Region' }, { Ref: 'AWS::AccountId' }, name]],
});
const bucketNameTemplate = (stage, role) => `${APP}-${stage}-${role}-\${AWS::AccountId}-\${AWS::Region}`;
/** The scheduler's EventBridge rule, named so that the resources stack can name it in its DLQ's policy. */
const scheduleRuleName = (stage) => `${APP}-${stage}-schedule`;
const scheduleRuleArn = (stage) => sub(`arn:\${AWS::Partition}:events:\${AWS::Region}:\${AWS::AccountId}:rule/${scheduleRuleName(stage)}`);
/** The services that deploy functions, in infra/topology.json order. */
const FUNCTION_SERVICES = [...new Set(Object.values(topology.functions).map((f) => f.service))];

// ---------- parameters ----------

async function stageOf(resolveVariable) {
  return String(await resolveVariable('sls:stage'));
}

/** A `--param` value (or a serverless.yml `params:` default), or undefined when unset or "none". */
async function optionalParam(resolveVariable, name) {
  const value = await resolveVariable(`param:${name}, null`);
  if (value === null || value === undefined) return undefined;
  const text = String(value).trim();
  return text === '' || text === 'none' ? undefined : text;
}

async function requiredParam(resolveVariable, name, example) {
  const value = await optionalParam(resolveVariable, name);
  if (value === undefined) {
    throw new Error(`The parameter "${name}" is not set. Pass it as --param="${name}=${example}" (see docs/deploy.md).`);
  }
  return value;
}

/**
 * Where the shared resources are. Deployed through serverless-compose.yml these arrive as params
 * from the resources stack's outputs; deployed alone, they are derived with the same formulas the
 * resources service uses, so `serverless deploy` in a service folder needs no extra flags.
 */
async function sharedResources(resolveVariable) {
  const stage = await stageOf(resolveVariable);
  const literal = async (param, fallback) => (await optionalParam(resolveVariable, param)) ?? fallback;
  const ingestion = await optionalParam(resolveVariable, 'ingestionBucket');
  const processed = await optionalParam(resolveVariable, 'processedBucket');
  return {
    stage,
    stateTable: await literal('stateTable', `${APP}-${stage}-${topology.stateTable.name}`),
    queuePrefix: await literal('queuePrefix', `${APP}-${stage}`),
    // Templates for Fn::Sub: a literal name passes through unchanged; a derived one resolves in CloudFormation.
    bucketTemplates: {
      ingestion: ingestion ?? bucketNameTemplate(stage, 'ingestion'),
      processed: processed ?? bucketNameTemplate(stage, 'processed'),
    },
  };
}

/** An RDS or Secrets Manager secret given by name or ARN, as the IAM resource that matches it. */
function secretArn(secretId) {
  if (secretId.startsWith('arn:')) return secretId;
  // Secrets Manager appends "-" and six random characters to a secret's name in its ARN.
  return sub(`arn:\${AWS::Partition}:secretsmanager:\${AWS::Region}:\${AWS::AccountId}:secret:${secretId}-??????`);
}

async function vpcConfig(resolveVariable) {
  const subnets = await optionalParam(resolveVariable, 'vpcSubnetIds');
  const groups = await optionalParam(resolveVariable, 'vpcSecurityGroupIds');
  if (!subnets && !groups) return undefined;
  if (!subnets || !groups) {
    throw new Error('Set both vpcSubnetIds and vpcSecurityGroupIds (comma-separated), or neither.');
  }
  const list = (text) => text.split(',').map((s) => s.trim()).filter(Boolean);
  return { subnetIds: list(subnets), securityGroupIds: list(groups) };
}

// ---------- shared resources service ----------

/**
 * A CloudWatch alarm that emails the alarm topic (and again when it clears) as soon as its metric
 * is above 0 in one period; `when` overrides any of those properties (the freshness alarm fires on
 * none).
 */
function alarm({ name, description, namespace, metric, dimensions, statistic = 'Sum', period = ALARM_PERIOD_SECONDS, when }) {
  return {
    Type: 'AWS::CloudWatch::Alarm',
    Properties: {
      AlarmName: name,
      AlarmDescription: description,
      Namespace: namespace,
      MetricName: metric,
      Dimensions: dimensions,
      Statistic: statistic,
      Period: period,
      EvaluationPeriods: 1,
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'notBreaching',
      ...when,
      AlarmActions: [{ Ref: 'AlarmTopic' }],
      OKActions: [{ Ref: 'AlarmTopic' }],
    },
  };
}

/** An alarm on a DLQ of the stack (logical id `dlqId`) holding one message or more. */
function dlqAlarm({ dlqId, dlqName, description }) {
  return alarm({
    name: `${dlqName}-not-empty`,
    description,
    namespace: 'AWS/SQS',
    metric: 'ApproximateNumberOfMessagesVisible',
    dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [dlqId, 'QueueName'] } }],
    statistic: 'Maximum',
    period: 60,
  });
}

function workQueueDlqAlarm(q) {
  const subject = q.sourceTable ? `the ${q.sourceTable} table's ${q.key} queue` : `the ${q.logicalName} queue`;
  return dlqAlarm({
    dlqId: `${q.id}Dlq`,
    dlqName: q.dlqName,
    description:
      `Messages from ${subject} failed ${q.maxReceiveCount} times and wait in ${q.dlqName}. ` +
      'Read the function logs for the cause, fix it, then redrive the DLQ (docs/operations.md).',
  });
}

/**
 * The pipeline's own metrics (embedded metric format, namespace TotesEtl). Powertools Metrics adds a
 * `service` dimension (POWERTOOLS_SERVICE_NAME) to every metric, and an alarm matches a metric only
 * on its exact dimension set, so the alarm names both: service and table. By default the alarm fires
 * on any count in a 5-minute period; `when` overrides that (the freshness alarm fires on none).
 */
function metricAlarm({ name, metric, service, table, stage, description, when }) {
  return alarm({
    name: name ?? `${APP}-${stage}-${metric}-${table}`,
    description,
    namespace: METRICS_NAMESPACE,
    metric,
    dimensions: [
      { Name: 'service', Value: service },
      { Name: 'table', Value: table },
    ],
    when,
  });
}

/**
 * Lambda's own metrics for one function (dimension FunctionName, the name functionsFor sets), so an
 * invocation that fails as a whole reaches a person even when no message ends in a DLQ: a crash at
 * start (bad configuration), a timeout, running out of memory, every record of a batch failing, or
 * the scheduler failing (nothing queues behind it).
 */
function lambdaAlarm({ functionName, metric, description }) {
  return alarm({
    name: `${functionName}-${metric.toLowerCase()}`,
    description,
    namespace: 'AWS/Lambda',
    metric,
    dimensions: [{ Name: 'FunctionName', Value: functionName }],
  });
}

function bucket(stage, role, retain) {
  return {
    Type: 'AWS::S3::Bucket',
    ...retention(retain),
    Properties: {
      BucketName: sub(bucketNameTemplate(stage, role)),
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
      // No versioning: objects are written once (If-None-Match) under content-derived keys and never replaced.
      LifecycleConfiguration: {
        Rules: [{ Id: 'abort-incomplete-uploads', Status: 'Enabled', AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 } }],
      },
    },
  };
}

function denyInsecureTransport(bucketId) {
  return {
    Type: 'AWS::S3::BucketPolicy',
    Properties: {
      Bucket: { Ref: bucketId },
      PolicyDocument: {
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'DenyInsecureTransport',
            Effect: 'Deny',
            Principal: '*',
            Action: 's3:*',
            Resource: [{ 'Fn::GetAtt': [bucketId, 'Arn'] }, { 'Fn::Sub': `\${${bucketId}.Arn}/*` }],
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          },
        ],
      },
    },
  };
}

function retention(retain) {
  return retain ? { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' } : { DeletionPolicy: 'Delete' };
}

async function isRetained(resolveVariable) {
  return (await optionalParam(resolveVariable, 'retainData')) === 'true';
}

/** `resources:` of services/resources: queues, DLQs, alarms, topic, state table, buckets, outputs. */
async function sharedResourcesStack({ resolveVariable }) {
  const stage = await stageOf(resolveVariable);
  const alarmEmail = await requiredParam(resolveVariable, 'alarmEmail', 'ops@example.com');
  const retain = await isRetained(resolveVariable);
  const prefix = `${APP}-${stage}`;
  const Resources = {};
  const Outputs = {};

  Resources.AlarmTopic = {
    Type: 'AWS::SNS::Topic',
    // Not KMS-encrypted on purpose: CloudWatch alarms cannot publish to a topic under the AWS-managed
    // SNS key, and alarm texts carry no data.
    Properties: { TopicName: `${prefix}-alarms`, DisplayName: `${APP} ${stage} alarms` },
  };
  Resources.AlarmEmailSubscription = {
    Type: 'AWS::SNS::Subscription',
    Properties: { TopicArn: { Ref: 'AlarmTopic' }, Protocol: 'email', Endpoint: alarmEmail },
  };

  for (const q of queueDefinitions(stage)) {
    Resources[`${q.id}Dlq`] = {
      Type: 'AWS::SQS::Queue',
      Properties: {
        QueueName: q.dlqName,
        MessageRetentionPeriod: DLQ_RETENTION_SECONDS,
        SqsManagedSseEnabled: true,
        // Only its own work queue may dead-letter into this DLQ (an ARN string, not GetAtt: no cycle).
        RedriveAllowPolicy: { redrivePermission: 'byQueue', sourceQueueArns: [queueArn(q.name)] },
      },
    };
    Resources[`${q.id}Queue`] = {
      Type: 'AWS::SQS::Queue',
      Properties: {
        QueueName: q.name,
        VisibilityTimeout: q.visibilityTimeoutSeconds,
        MessageRetentionPeriod: QUEUE_RETENTION_SECONDS,
        SqsManagedSseEnabled: true,
        RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [`${q.id}Dlq`, 'Arn'] }, maxReceiveCount: q.maxReceiveCount },
      },
    };
    Resources[`${q.id}DlqAlarm`] = workQueueDlqAlarm(q);
  }

  // The scheduler's DLQ: no work queue feeds it; EventBridge and Lambda's asynchronous invocation do.
  const scheduleDlqName = `${prefix}-${SCHEDULE_FAILURES.dlqLogicalName}-dlq`;
  Resources.ScheduleDlq = {
    Type: 'AWS::SQS::Queue',
    Properties: {
      QueueName: scheduleDlqName,
      MessageRetentionPeriod: DLQ_RETENTION_SECONDS,
      // SQS-managed keys: EventBridge cannot send to a queue under the AWS-managed SQS KMS key.
      SqsManagedSseEnabled: true,
      RedriveAllowPolicy: { redrivePermission: 'denyAll' },
    },
  };
  Resources.ScheduleDlqPolicy = {
    Type: 'AWS::SQS::QueuePolicy',
    Properties: {
      Queues: [{ Ref: 'ScheduleDlq' }],
      PolicyDocument: {
        Version: '2012-10-17',
        Statement: [
          {
            // The rule target's dead-letter config sends as EventBridge, not as a role of ours.
            Sid: 'ScheduleRuleDeadLetters',
            Effect: 'Allow',
            Principal: { Service: 'events.amazonaws.com' },
            Action: 'sqs:SendMessage',
            Resource: { 'Fn::GetAtt': ['ScheduleDlq', 'Arn'] },
            Condition: { ArnEquals: { 'aws:SourceArn': scheduleRuleArn(stage) } },
          },
        ],
      },
    },
  };
  Resources.ScheduleDlqAlarm = dlqAlarm({
    dlqId: 'ScheduleDlq',
    dlqName: scheduleDlqName,
    description:
      `The scheduler (${lambdaName('change-detector', stage, 'schedule')}) could not be invoked, or failed ${SCHEDULE_FAILURES.async.maximumRetryAttempts + 1} times, or could not run for 5 minutes, ` +
      `and its event waits in ${scheduleDlqName}. While it fails no detection is scheduled. Read its log, fix the cause; ` +
      'then purge the DLQ: the next tick does the work (docs/operations.md).',
  });

  // Invocation errors and throttles of every function of the three function services.
  for (const service of FUNCTION_SERVICES) {
    for (const f of functionsOf(service, stage)) {
      const functionName = lambdaName(service, stage, f.key);
      Resources[`${pascal(f.key)}ErrorsAlarm`] = lambdaAlarm({
        functionName,
        metric: 'Errors',
        description:
          `${functionName} failed as a whole (it threw, timed out, ran out of memory, or could not start). ` +
          'Read its log in CloudWatch Logs (docs/operations.md).',
      });
      Resources[`${pascal(f.key)}ThrottlesAlarm`] = lambdaAlarm({
        functionName,
        metric: 'Throttles',
        description:
          `Lambda refused to run ${functionName}: the account's concurrency is used up. The work is retried later ` +
          '(queued messages return to their queue, scheduler ticks are retried) and may end in a DLQ. ' +
          'Find what uses the concurrency, or raise the quota (docs/operations.md).',
      });
    }
  }

  for (const table of topology.sourceTables) {
    Resources[`${pascal(table)}DetectionErrorsAlarm`] = metricAlarm({
      metric: 'DetectionErrors',
      service: 'change-detector',
      table,
      stage,
      description: `Change detection of the ${table} table failed (a missing table or column, a changed type, or the source unreachable). The other tables proceed.`,
    });
    // The detector extracts a row whose last_updated is off the source clock as it is (nothing is
    // dropped) and counts it: such a value was set by hand or by a broken writer, and may load as a
    // future version or be quarantined (services/change-detector/src/off-clock.ts).
    Resources[`${pascal(table)}RowsOffClockAlarm`] = metricAlarm({
      metric: 'RowsOffClock',
      service: 'change-detector',
      table,
      stage,
      description:
        `The change-detector extracted rows of the ${table} table whose last_updated is off the source clock: 'infinity', ` +
        'before year 1 (BC, \'-infinity\'), after year 9999, or later than the source clock by more than the look-back. ' +
        'They are extracted as they are: the transformer quarantines a value it cannot read as a timestamp, and a future date loads as it is. ' +
        'The change-detector log (error "off the source clock") names table, id and value. Fix the row\'s last_updated in the source, ' +
        'setting it to the time of the fix (localtimestamp, as a writer does; an older time would fall below the detection window): ' +
        'the next detection pass extracts the corrected row (docs/operations.md).',
    });
    Resources[`${pascal(table)}QuarantinedRowsAlarm`] = metricAlarm({
      metric: 'QuarantinedRows',
      service: 'transformer',
      table,
      stage,
      description: `Rows of the ${table} table broke a transformation rule and were written under quarantine/ in the processed bucket instead of being loaded.`,
    });
    // Freshness: the change-detector counts DetectionPasses (1) for every completed detection of a
    // table, changes found or not, so silence means the table is stuck, whatever the reason.
    const freshnessMinutes = (FRESHNESS_PERIODS * ALARM_PERIOD_SECONDS) / 60;
    Resources[`${pascal(table)}FreshnessAlarm`] = metricAlarm({
      name: `${APP}-${stage}-not-detected-${table}`,
      metric: 'DetectionPasses',
      service: 'change-detector',
      table,
      stage,
      description:
        `No detection of the ${table} table completed in ${freshnessMinutes} minutes: its changes are not reaching the warehouse ` +
        '(SPEC §4 allows 30 minutes). The scheduler or the detect function is failing, the table\'s lease is stuck, or the source is ' +
        'unreachable. See the other alarms, totes status and the change-detector log (docs/operations.md).',
      when: {
        EvaluationPeriods: FRESHNESS_PERIODS,
        DatapointsToAlarm: FRESHNESS_PERIODS,
        Threshold: 1,
        ComparisonOperator: 'LessThanThreshold',
        // No data is the very symptom: nothing runs, so nothing is emitted.
        TreatMissingData: 'breaching',
      },
    });
  }

  Resources.StateTable = {
    Type: 'AWS::DynamoDB::Table',
    ...retention(retain),
    Properties: {
      TableName: `${prefix}-${topology.stateTable.name}`,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: topology.stateTable.partitionKey, AttributeType: 'S' }],
      KeySchema: [{ AttributeName: topology.stateTable.partitionKey, KeyType: 'HASH' }],
      SSESpecification: { SSEEnabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      // Powertools idempotency records carry their expiry in `expiration`; TTL deletes them lazily.
      // Leases never rely on it: their expiry is checked in code (TTL may lag by days).
      TimeToLiveSpecification: { AttributeName: 'expiration', Enabled: true },
      DeletionProtectionEnabled: retain,
    },
  };

  Resources.IngestionBucket = bucket(stage, 'ingestion', retain);
  Resources.IngestionBucketPolicy = denyInsecureTransport('IngestionBucket');
  Resources.ProcessedBucket = bucket(stage, 'processed', retain);
  Resources.ProcessedBucketPolicy = denyInsecureTransport('ProcessedBucket');

  Outputs.StateTableName = { Description: 'TOTES_STATE_TABLE', Value: { Ref: 'StateTable' } };
  Outputs.StateTableArn = { Value: { 'Fn::GetAtt': ['StateTable', 'Arn'] } };
  Outputs.IngestionBucketName = { Description: 'TOTES_INGESTION_BUCKET', Value: { Ref: 'IngestionBucket' } };
  Outputs.ProcessedBucketName = { Description: 'TOTES_PROCESSED_BUCKET', Value: { Ref: 'ProcessedBucket' } };
  Outputs.QueuePrefix = { Description: 'TOTES_QUEUE_PREFIX', Value: prefix };
  Outputs.AlarmTopicArn = { Value: { Ref: 'AlarmTopic' } };

  return { Resources, Outputs };
}

// ---------- function services ----------

/** The functions of one service, keyed as serverless.yml `functions:` expects, each with its queue. */
function functionsOf(service, stage) {
  const out = [];
  for (const [fn, spec] of Object.entries(topology.functions)) {
    if (spec.service !== service) continue;
    const queues = queueDefinitions(stage).filter((q) => q.consumer === fn);
    if (queues.length === 0) out.push({ key: fn, fn, spec, queue: null });
    for (const q of queues) out.push({ key: q.consumerFunctionKey, fn, spec, queue: q });
  }
  if (out.length === 0) throw new Error(`infra/topology.json has no function for the service ${service}`);
  return out;
}

/** Lambda function names: `<service>-<stage>-<key>` as Serverless names them, set explicitly for the IAM log scope. */
function lambdaName(service, stage, key) {
  return `${APP}-${service}-${stage}-${key}`;
}

function roleStatements(service, stage, f, shared, secretId, withVpc) {
  const access = accessOf(f.fn, f.queue);
  const statements = [
    {
      Sid: 'WriteOwnLogs',
      Effect: 'Allow',
      Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      Resource: sub(`arn:\${AWS::Partition}:logs:\${AWS::Region}:\${AWS::AccountId}:log-group:/aws/lambda/${lambdaName(service, stage, f.key)}:*`),
    },
  ];
  if (access.consumes) {
    statements.push({ Sid: 'ConsumeOwnQueue', Effect: 'Allow', Action: CONSUME_ACTIONS, Resource: queueArn(`${shared.queuePrefix}-${access.consumes.logicalName}`) });
  }
  if (access.sends.length > 0) {
    statements.push({ Sid: 'SendToNextQueues', Effect: 'Allow', Action: SEND_ACTIONS, Resource: access.sends.map((l) => queueArn(`${shared.queuePrefix}-${l}`)) });
  }
  if (access.failures) {
    // Lambda sends an asynchronous invocation's failure record to its destination with the function's role.
    statements.push({
      Sid: 'SendFailuresToDlq',
      Effect: 'Allow',
      Action: ['sqs:SendMessage'],
      Resource: queueArn(`${shared.queuePrefix}-${access.failures}-dlq`),
    });
  }
  if (access.state) {
    statements.push({
      Sid: 'ReadWriteState',
      Effect: 'Allow',
      Action: access.state.actions,
      Resource: sub(`arn:\${AWS::Partition}:dynamodb:\${AWS::Region}:\${AWS::AccountId}:table/${shared.stateTable}`),
      // Only items whose key starts with these prefixes (batch#, watermark#, lease#).
      Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': access.state.keys } },
    });
  }
  for (const o of access.objects) {
    const bucketTemplate = shared.bucketTemplates[o.bucket];
    const keys = (prefixes) => prefixes.map((p) => sub(`arn:\${AWS::Partition}:s3:::${bucketTemplate}/${p}*`));
    const sid = pascal(o.bucket);
    if (o.read.length > 0) {
      statements.push({ Sid: `Read${sid}Objects`, Effect: 'Allow', Action: ['s3:GetObject'], Resource: keys(o.read) });
      // Without ListBucket, S3 answers a read of a missing key with 403 AccessDenied instead of 404, so
      // ObjectStore.exists() could not say "no" and a missing raw batch would read as a permission error.
      // Limited to the prefixes read: for that choice S3 evaluates ListBucket with the requested key as
      // s3:prefix (ceph/s3-tests test_head_object_404_with_policy_prefix, written to AWS's behaviour),
      // and a listing outside them is refused.
      statements.push({
        Sid: `List${sid}Bucket`,
        Effect: 'Allow',
        Action: ['s3:ListBucket'],
        Resource: sub(`arn:\${AWS::Partition}:s3:::${bucketTemplate}`),
        Condition: { StringLike: { 's3:prefix': o.read.map((p) => `${p}*`) } },
      });
    }
    if (o.write.length > 0) statements.push({ Sid: `Write${sid}Objects`, Effect: 'Allow', Action: ['s3:PutObject'], Resource: keys(o.write) });
  }
  if (access.database) {
    statements.push({ Sid: 'ReadDatabaseSecret', Effect: 'Allow', Action: ['secretsmanager:GetSecretValue'], Resource: secretArn(secretId) });
  }
  if (withVpc && access.database) {
    statements.push({ Sid: 'ManageVpcNetworkInterfaces', Effect: 'Allow', Action: VPC_ACTIONS, Resource: '*' });
  }
  return statements;
}

/**
 * `functions:` of a function service. One role per function (`role:` names a logical id rendered by
 * `roles`), SQS event sources with partial batch responses, limits from infra/topology.json.
 */
function functionsFor(service) {
  return async ({ resolveVariable }) => {
    const shared = await sharedResources(resolveVariable);
    const vpc = await vpcConfig(resolveVariable);
    const functions = {};
    for (const f of functionsOf(service, shared.stage)) {
      const access = accessOf(f.fn, f.queue);
      const def = {
        name: lambdaName(service, shared.stage, f.key),
        handler: f.spec.handler,
        description: f.queue ? `${f.fn}: consumes ${f.queue.name}` : `${f.fn}: ${topology.schedule.rate}`,
        timeout: f.spec.timeoutSeconds,
        memorySize: f.spec.memoryMb,
        role: `${pascal(f.key)}Role`,
        events: [],
      };
      if (f.queue) {
        def.events.push({
          sqs: {
            arn: queueArn(`${shared.queuePrefix}-${f.queue.logicalName}`),
            batchSize: f.queue.batchSize,
            maximumConcurrency: f.queue.maxConcurrency,
            // A record handler that throws fails that record alone; the rest of the batch is deleted.
            functionResponseType: 'ReportBatchItemFailures',
          },
        });
      } else {
        // An eventBridge event rather than `schedule`: only it takes a retry policy and a DLQ.
        const failures = queueArn(`${shared.queuePrefix}-${access.failures}-dlq`);
        def.events.push({
          eventBridge: {
            name: scheduleRuleName(shared.stage),
            description: `Schedules change detection of every source table (${APP} ${shared.stage})`,
            schedule: topology.schedule.rate,
            retryPolicy: SCHEDULE_FAILURES.retry,
            deadLetterQueueArn: failures,
          },
        });
        def.maximumRetryAttempts = SCHEDULE_FAILURES.async.maximumRetryAttempts;
        def.maximumEventAge = SCHEDULE_FAILURES.async.maximumEventAge;
        def.destinations = { onFailure: { type: 'sqs', arn: failures } };
      }
      if (vpc && access.database) def.vpc = vpc;
      functions[f.key] = def;
    }
    return functions;
  };
}

/** `resources:` of a function service: one IAM role per function, no wildcard actions. */
function rolesFor(service) {
  return async ({ resolveVariable }) => {
    const shared = await sharedResources(resolveVariable);
    const vpc = await vpcConfig(resolveVariable);
    const database = SERVICE_DATABASE[service];
    const secretId = await requiredParam(resolveVariable, `${database}SecretId`, `totes/${shared.stage}/${database}`);
    const Resources = {};
    for (const f of functionsOf(service, shared.stage)) {
      Resources[`${pascal(f.key)}Role`] = {
        Type: 'AWS::IAM::Role',
        Properties: {
          Description: `${lambdaName(service, shared.stage, f.key)}: least privilege for this one function`,
          AssumeRolePolicyDocument: {
            Version: '2012-10-17',
            Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }],
          },
          Policies: [
            {
              PolicyName: f.key,
              PolicyDocument: { Version: '2012-10-17', Statement: roleStatements(service, shared.stage, f, shared, secretId, Boolean(vpc)) },
            },
          ],
        },
      };
    }
    return { Resources };
  };
}

/** `provider.environment` of a function service: the variables shared/src/config/index.ts reads. */
function environmentFor(service) {
  return async ({ resolveVariable }) => {
    const shared = await sharedResources(resolveVariable);
    const database = SERVICE_DATABASE[service];
    const prefix = database === 'source' ? 'TOTES_SOURCE' : 'TOTES_WAREHOUSE';
    const secretId = await requiredParam(resolveVariable, `${database}SecretId`, `totes/${shared.stage}/${database}`);
    return {
      TOTES_STAGE: shared.stage,
      TOTES_STATE_TABLE: shared.stateTable,
      TOTES_INGESTION_BUCKET: sub(shared.bucketTemplates.ingestion),
      TOTES_PROCESSED_BUCKET: sub(shared.bucketTemplates.processed),
      TOTES_QUEUE_PREFIX: shared.queuePrefix,
      [`${prefix}_SECRET_ID`]: secretId,
      [`${prefix}_SSL`]: SSL_MODE,
      NODE_EXTRA_CA_CERTS: RDS_CA_BUNDLE,
      // Stack traces point at the TypeScript sources through the bundle's source map.
      NODE_OPTIONS: '--enable-source-maps',
      POWERTOOLS_SERVICE_NAME: service,
      POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
      POWERTOOLS_LOG_LEVEL: (await optionalParam(resolveVariable, 'logLevel')) ?? 'INFO',
    };
  };
}

/**
 * serverless-esbuild settings, the same for every function service: one CommonJS bundle per
 * function for Node 22, with a source map. The AWS SDK v3 is in the Lambda runtime, so it stays out
 * of the bundle; pg's optional native binding is never used. `exclude` (not `external`) keeps them
 * out without running npm install for externals, so packaging needs no network.
 */
const esbuild = {
  bundle: true,
  minify: false,
  sourcemap: true,
  sourcesContent: false,
  keepNames: true,
  target: 'node22',
  platform: 'node',
  format: 'cjs',
  // ESM-only packages (hyparquet, hyparquet-writer) are bundled and converted to CommonJS by esbuild.
  exclude: ['@aws-sdk/*', 'pg-native'],
  // A one-shot build per package, no esbuild context kept for watch-mode rebuilds: a context left
  // open after a failed build keeps the esbuild service alive and `serverless package` never exits.
  skipRebuild: true,
};

module.exports = {
  APP,
  queueDefinitions,
  esbuild,
  sharedResourcesStack,
  changeDetectorFunctions: functionsFor('change-detector'),
  changeDetectorRoles: rolesFor('change-detector'),
  changeDetectorEnvironment: environmentFor('change-detector'),
  transformerFunctions: functionsFor('transformer'),
  transformerRoles: rolesFor('transformer'),
  transformerEnvironment: environmentFor('transformer'),
  warehouseLoaderFunctions: functionsFor('warehouse-loader'),
  warehouseLoaderRoles: rolesFor('warehouse-loader'),
  warehouseLoaderEnvironment: environmentFor('warehouse-loader'),
};
