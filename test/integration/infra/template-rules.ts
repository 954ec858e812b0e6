/**
 * Rules the packaged CloudFormation must follow (issue 2, "Packaging and deploy"). Each rule reads
 * the parsed templates of all four services and returns the problems it finds, one sentence each,
 * so a failing test names the resource at fault; an empty list means the rule holds.
 */

export type ServiceName = 'resources' | 'change-detector' | 'transformer' | 'warehouse-loader';
export const SERVICE_NAMES: readonly ServiceName[] = ['resources', 'change-detector', 'transformer', 'warehouse-loader'];

export interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
}
export interface Template {
  readonly Resources: Record<string, CfnResource>;
  readonly Outputs?: Record<string, unknown>;
}
export type Templates = Record<ServiceName, Template>;

export const MIN_MAX_RECEIVE_COUNT = 5;
export const MIN_NODE_MAJOR = 22;

// ---------- reading templates ----------

type Found = { service: ServiceName; id: string; props: Record<string, unknown> };

function resourcesOfType(templates: Templates, type: string, only?: ServiceName): Found[] {
  const out: Found[] = [];
  for (const service of SERVICE_NAMES) {
    if (only && service !== only) continue;
    for (const [id, r] of Object.entries(templates[service].Resources)) {
      if (r.Type === type) out.push({ service, id, props: r.Properties ?? {} });
    }
  }
  return out;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function asArray(v: unknown): unknown[] {
  if (v === undefined || v === null) return [];
  return Array.isArray(v) ? v : [v];
}

/** The logical id in `{ "Fn::GetAtt": [id, attribute] }`, if `v` is one. */
function getAttTarget(v: unknown, attribute: string): string | undefined {
  if (!isRecord(v)) return undefined;
  const att = v['Fn::GetAtt'];
  if (Array.isArray(att) && att[1] === attribute && typeof att[0] === 'string') return att[0];
  if (typeof att === 'string' && att.endsWith(`.${attribute}`)) return att.slice(0, -attribute.length - 1);
  return undefined;
}

function refTarget(v: unknown): string | undefined {
  return isRecord(v) && typeof v.Ref === 'string' ? v.Ref : undefined;
}

/**
 * The last segment of an ARN (the queue name of an SQS ARN), whether the ARN is a plain string,
 * an Fn::Join or an Fn::Sub: consumers build queue ARNs from names, not from GetAtt across stacks.
 */
export function arnTail(v: unknown): string | undefined {
  if (typeof v === 'string') return v.split(':').pop();
  if (!isRecord(v)) return undefined;
  const join = v['Fn::Join'];
  if (Array.isArray(join) && Array.isArray(join[1])) {
    const last = join[1][join[1].length - 1];
    return typeof last === 'string' ? last.split(':').pop() : undefined;
  }
  const s = v['Fn::Sub'];
  const text = typeof s === 'string' ? s : Array.isArray(s) && typeof s[0] === 'string' ? s[0] : undefined;
  return text?.split(':').pop();
}

interface WorkQueue {
  id: string;
  name: string;
  props: Record<string, unknown>;
  dlqId: string | undefined;
  maxReceiveCount: unknown;
}

function redrivePolicy(props: Record<string, unknown>): Record<string, unknown> | undefined {
  const p = props.RedrivePolicy;
  if (typeof p === 'string') return JSON.parse(p) as Record<string, unknown>;
  return isRecord(p) ? p : undefined;
}

function queues(templates: Templates): { work: WorkQueue[]; all: Found[] } {
  const all = resourcesOfType(templates, 'AWS::SQS::Queue');
  const work: WorkQueue[] = [];
  for (const q of all) {
    const policy = redrivePolicy(q.props);
    if (!policy) continue;
    work.push({
      id: q.id,
      name: String(q.props.QueueName),
      props: q.props,
      dlqId: getAttTarget(policy.deadLetterTargetArn, 'Arn'),
      maxReceiveCount: policy.maxReceiveCount,
    });
  }
  return { work, all };
}

/**
 * Queue names that receive an asynchronous invocation's failures: an EventBridge rule target's
 * dead-letter config and a Lambda function's on-failure destination (ARNs built from names, across stacks).
 */
function failureDestinationNames(templates: Templates): Set<string> {
  const names = new Set<string>();
  for (const rule of resourcesOfType(templates, 'AWS::Events::Rule')) {
    for (const target of asArray(rule.props.Targets).filter(isRecord)) {
      const dlq = isRecord(target.DeadLetterConfig) ? arnTail(target.DeadLetterConfig.Arn) : undefined;
      if (dlq) names.add(dlq);
    }
  }
  for (const c of resourcesOfType(templates, 'AWS::Lambda::EventInvokeConfig')) {
    const onFailure = isRecord(c.props.DestinationConfig) && isRecord(c.props.DestinationConfig.OnFailure) ? c.props.DestinationConfig.OnFailure : undefined;
    const name = onFailure ? arnTail(onFailure.Destination) : undefined;
    if (name) names.add(name);
  }
  return names;
}

/** Logical ids of every DLQ: those of work queues and those receiving asynchronous failures. */
function dlqIds(templates: Templates): Set<string> {
  const failureQueues = failureDestinationNames(templates);
  const ids = new Set(queues(templates).work.flatMap((q) => (q.dlqId ? [q.dlqId] : [])));
  for (const q of queues(templates).all) if (failureQueues.has(String(q.props.QueueName))) ids.add(q.id);
  return ids;
}

// ---------- rules ----------

/** Every expected work queue exists and dead-letters into a DLQ of its own after ≥ 5 receives. */
export function workQueuesHaveDlqs(templates: Templates, expectedQueueNames: readonly string[]): string[] {
  const problems: string[] = [];
  const { work, all } = queues(templates);
  const byId = new Map(all.map((q) => [q.id, q]));
  for (const name of expectedQueueNames) {
    const q = work.find((w) => w.name === name);
    if (!q) {
      problems.push(`work queue ${name} has no redrive policy (or does not exist)`);
      continue;
    }
    const dlq = q.dlqId ? byId.get(q.dlqId) : undefined;
    if (!dlq) problems.push(`${name}: deadLetterTargetArn is not the ARN of a queue in the stack`);
    else if (dlq.props.RedrivePolicy !== undefined) problems.push(`${name}: its DLQ ${String(dlq.props.QueueName)} is itself a work queue`);
    if (typeof q.maxReceiveCount !== 'number' || q.maxReceiveCount < MIN_MAX_RECEIVE_COUNT) {
      problems.push(`${name}: maxReceiveCount ${String(q.maxReceiveCount)} is below ${MIN_MAX_RECEIVE_COUNT}`);
    }
  }
  const shared = new Map<string, string[]>();
  for (const q of work) if (q.dlqId) shared.set(q.dlqId, [...(shared.get(q.dlqId) ?? []), q.name]);
  for (const [dlq, users] of shared) if (users.length > 1) problems.push(`DLQ ${dlq} is shared by ${users.join(', ')}`);
  const dlqs = dlqIds(templates);
  for (const q of all) {
    if (!redrivePolicy(q.props) && !dlqs.has(q.id)) problems.push(`queue ${q.id} is neither a work queue nor the DLQ of one (of a queue or of an asynchronous invocation)`);
  }
  return problems;
}

/** The Lambda functions (logical id → properties) consuming each queue name, across all stacks. */
function consumersByQueue(templates: Templates): Map<string, { service: ServiceName; fnId: string; fn: Record<string, unknown> | undefined }[]> {
  const out = new Map<string, { service: ServiceName; fnId: string; fn: Record<string, unknown> | undefined }[]>();
  for (const m of resourcesOfType(templates, 'AWS::Lambda::EventSourceMapping')) {
    const queue = arnTail(m.props.EventSourceArn);
    const fnId = getAttTarget(m.props.FunctionName, 'Arn') ?? refTarget(m.props.FunctionName) ?? '?';
    const fn = templates[m.service].Resources[fnId]?.Properties;
    if (queue) out.set(queue, [...(out.get(queue) ?? []), { service: m.service, fnId, fn }]);
  }
  return out;
}

/** Each work queue has exactly one consumer, and its visibility timeout is ≥ 6 × that function's timeout. */
export function visibilityCoversConsumer(templates: Templates): string[] {
  const problems: string[] = [];
  const consumers = consumersByQueue(templates);
  for (const q of queues(templates).work) {
    const found = consumers.get(q.name) ?? [];
    if (found.length !== 1) {
      problems.push(`${q.name} has ${found.length} consumers (event source mappings); expected exactly one`);
      continue;
    }
    const [{ fnId, fn }] = found as [(typeof found)[number]];
    const timeout = fn?.Timeout;
    const visibility = q.props.VisibilityTimeout;
    if (typeof timeout !== 'number') problems.push(`${fnId} (consumer of ${q.name}) has no numeric Timeout`);
    else if (typeof visibility !== 'number' || visibility < 6 * timeout) {
      problems.push(`${q.name}: VisibilityTimeout ${String(visibility)} is less than 6 × ${fnId}'s timeout ${timeout}`);
    }
  }
  return problems;
}

/** SNS topics (logical ids, in the stack that defines them) with an email subscription to `email`. */
function emailTopics(templates: Templates, email: string): Set<string> {
  const out = new Set<string>();
  for (const s of resourcesOfType(templates, 'AWS::SNS::Subscription')) {
    const topic = refTarget(s.props.TopicArn);
    if (topic && s.props.Protocol === 'email' && s.props.Endpoint === email) out.add(`${s.service}/${topic}`);
  }
  for (const t of resourcesOfType(templates, 'AWS::SNS::Topic')) {
    for (const sub of asArray(t.props.Subscription)) {
      if (isRecord(sub) && sub.Protocol === 'email' && sub.Endpoint === email) out.add(`${t.service}/${t.id}`);
    }
  }
  return out;
}

/** The alarm's actions include a topic of its own stack that emails `email`. */
function notifiesEmail(templates: Templates, alarm: Found, email: string): boolean {
  const topics = emailTopics(templates, email);
  return asArray(alarm.props.AlarmActions).some((action) => {
    const topic = refTarget(action);
    return topic !== undefined && templates[alarm.service].Resources[topic]?.Type === 'AWS::SNS::Topic' && topics.has(`${alarm.service}/${topic}`);
  });
}

/** Every DLQ (of a work queue or of an asynchronous invocation) has an alarm (> 0 visible messages) whose action is an SNS topic with an email subscription to `email`. */
export function dlqsAlarmToEmail(templates: Templates, email: string): string[] {
  const problems: string[] = [];
  const { all } = queues(templates);
  const alarms = resourcesOfType(templates, 'AWS::CloudWatch::Alarm');
  for (const dlqId of dlqIds(templates)) {
    const dlqName = all.find((q) => q.id === dlqId)?.props.QueueName;
    const watching = alarms.filter((a) => {
      const dims = asArray(a.props.Dimensions).filter(isRecord);
      return (
        a.props.Namespace === 'AWS/SQS' &&
        a.props.MetricName === 'ApproximateNumberOfMessagesVisible' &&
        dims.some((d) => d.Name === 'QueueName' && (getAttTarget(d.Value, 'QueueName') === dlqId || d.Value === dlqName))
      );
    });
    if (watching.length === 0) {
      problems.push(`DLQ ${String(dlqName)} has no ApproximateNumberOfMessagesVisible alarm`);
      continue;
    }
    const good = watching.some((a) => firesAboveZero(a.props) && notifiesEmail(templates, a, email));
    if (!good) {
      problems.push(`DLQ ${String(dlqName)}: no alarm both fires on one visible message and notifies an SNS topic emailing ${email}`);
    }
  }
  return problems;
}

/** Every SQS event source mapping reports batch item failures (a failing record fails alone). */
export function mappingsReportBatchItemFailures(templates: Templates): string[] {
  return resourcesOfType(templates, 'AWS::Lambda::EventSourceMapping')
    .filter((m) => !asArray(m.props.FunctionResponseTypes).includes('ReportBatchItemFailures'))
    .map((m) => `${m.service}/${m.id} does not report batch item failures`);
}

/** Every function runs on nodejs22.x or newer. */
export function functionsOnSupportedRuntime(templates: Templates): string[] {
  const problems: string[] = [];
  for (const f of resourcesOfType(templates, 'AWS::Lambda::Function')) {
    const m = /^nodejs(\d+)\.x$/.exec(String(f.props.Runtime));
    if (!m || Number(m[1]) < MIN_NODE_MAJOR) problems.push(`${f.service}/${f.id} runs on ${String(f.props.Runtime)}`);
  }
  return problems;
}

/** EC2 network-interface actions have no resource-level permissions; Lambda needs them only in a VPC. */
const RESOURCE_STAR_ALLOWED = new Set([
  'ec2:CreateNetworkInterface',
  'ec2:DescribeNetworkInterfaces',
  'ec2:DescribeSubnets',
  'ec2:DeleteNetworkInterface',
  'ec2:AssignPrivateIpAddresses',
  'ec2:UnassignPrivateIpAddresses',
]);

function policyProblems(where: string, document: unknown): string[] {
  const problems: string[] = [];
  const statements = isRecord(document) ? asArray(document.Statement).filter(isRecord) : [];
  for (const s of statements) {
    if (s.NotAction !== undefined || s.NotResource !== undefined) problems.push(`${where}: uses NotAction/NotResource`);
    if (s.Effect !== 'Allow') continue;
    const actions = asArray(s.Action).map(String);
    for (const a of actions) if (a.includes('*')) problems.push(`${where}: wildcard action ${a}`);
    if (asArray(s.Resource).includes('*') && !actions.every((a) => RESOURCE_STAR_ALLOWED.has(a))) {
      problems.push(`${where}: Resource "*" for ${actions.join(', ')}`);
    }
  }
  return problems;
}

/** Each function has its own role, every permission is inline, and no statement allows a wildcard action. */
export function ownRoleWithoutWildcards(templates: Templates): string[] {
  const problems: string[] = [];
  const roleUsers = new Map<string, string[]>();
  for (const f of resourcesOfType(templates, 'AWS::Lambda::Function')) {
    const roleId = getAttTarget(f.props.Role, 'Arn');
    const role = roleId ? templates[f.service].Resources[roleId] : undefined;
    if (!roleId || role?.Type !== 'AWS::IAM::Role') {
      problems.push(`${f.service}/${f.id} does not use a role defined in its own stack`);
      continue;
    }
    const key = `${f.service}/${roleId}`;
    roleUsers.set(key, [...(roleUsers.get(key) ?? []), f.id]);
  }
  for (const [role, users] of roleUsers) if (users.length > 1) problems.push(`${role} is shared by ${users.join(', ')}`);
  for (const r of resourcesOfType(templates, 'AWS::IAM::Role')) {
    if (asArray(r.props.ManagedPolicyArns).length > 0) problems.push(`${r.service}/${r.id} attaches managed policies`);
    for (const p of asArray(r.props.Policies).filter(isRecord)) {
      problems.push(...policyProblems(`${r.service}/${r.id}`, p.PolicyDocument));
    }
  }
  for (const type of ['AWS::IAM::Policy', 'AWS::IAM::ManagedPolicy']) {
    for (const p of resourcesOfType(templates, type)) problems.push(...policyProblems(`${p.service}/${p.id}`, p.props.PolicyDocument));
  }
  return problems;
}

const ENCRYPTION = new Set(['AES256', 'aws:kms', 'aws:kms:dsse']);

/** Every bucket (data and deployment buckets alike) blocks public access and is encrypted at rest. */
export function bucketsPrivateAndEncrypted(templates: Templates): string[] {
  const problems: string[] = [];
  for (const b of resourcesOfType(templates, 'AWS::S3::Bucket')) {
    const pab = b.props.PublicAccessBlockConfiguration;
    const flags = ['BlockPublicAcls', 'BlockPublicPolicy', 'IgnorePublicAcls', 'RestrictPublicBuckets'];
    const open = flags.filter((f) => !isRecord(pab) || pab[f] !== true);
    if (open.length > 0) problems.push(`${b.service}/${b.id} does not set ${open.join(', ')}`);
    const enc = b.props.BucketEncryption;
    const rules = isRecord(enc) ? asArray(enc.ServerSideEncryptionConfiguration).filter(isRecord) : [];
    const encrypted = rules.some((r) => isRecord(r.ServerSideEncryptionByDefault) && ENCRYPTION.has(String(r.ServerSideEncryptionByDefault.SSEAlgorithm)));
    if (!encrypted) problems.push(`${b.service}/${b.id} has no default encryption`);
  }
  return problems;
}

/** Every data bucket's policy denies requests that do not use TLS. */
export function dataBucketsRequireTls(templates: Templates): string[] {
  const problems: string[] = [];
  const policies = resourcesOfType(templates, 'AWS::S3::BucketPolicy', 'resources');
  for (const b of resourcesOfType(templates, 'AWS::S3::Bucket', 'resources')) {
    const denies = policies.some((p) => {
      if (refTarget(p.props.Bucket) !== b.id || !isRecord(p.props.PolicyDocument)) return false;
      return asArray(p.props.PolicyDocument.Statement)
        .filter(isRecord)
        .some((s) => {
          const cond = isRecord(s.Condition) && isRecord(s.Condition.Bool) ? s.Condition.Bool['aws:SecureTransport'] : undefined;
          return s.Effect === 'Deny' && String(cond) === 'false';
        });
    });
    if (!denies) problems.push(`resources/${b.id} does not deny non-TLS requests`);
  }
  return problems;
}

/** Every queue, DLQs included, is encrypted at rest (SQS-managed keys or KMS). */
export function queuesEncrypted(templates: Templates): string[] {
  return resourcesOfType(templates, 'AWS::SQS::Queue')
    .filter((q) => q.props.SqsManagedSseEnabled !== true && q.props.KmsMasterKeyId === undefined)
    .map((q) => `${q.service}/${String(q.props.QueueName ?? q.id)} is not encrypted`);
}

/** The state table: string key `pk`, on-demand, encrypted, with point-in-time recovery. */
export function stateTableIsDurable(templates: Templates, partitionKey: string): string[] {
  const tables = resourcesOfType(templates, 'AWS::DynamoDB::Table');
  if (tables.length !== 1) return [`expected one DynamoDB table, found ${tables.length}`];
  const [{ props }] = tables as [Found];
  const problems: string[] = [];
  const key = asArray(props.KeySchema).filter(isRecord);
  const attrs = asArray(props.AttributeDefinitions).filter(isRecord);
  if (key.length !== 1 || key[0]?.AttributeName !== partitionKey || key[0]?.KeyType !== 'HASH') problems.push(`the state table's key is not ${partitionKey}`);
  if (!attrs.some((a) => a.AttributeName === partitionKey && a.AttributeType === 'S')) problems.push(`${partitionKey} is not a string attribute`);
  if (props.BillingMode !== 'PAY_PER_REQUEST') problems.push('the state table is not on-demand (PAY_PER_REQUEST)');
  if (!isRecord(props.SSESpecification) || props.SSESpecification.SSEEnabled !== true) problems.push('the state table has no SSE specification');
  const pitr = props.PointInTimeRecoverySpecification;
  if (!isRecord(pitr) || pitr.PointInTimeRecoveryEnabled !== true) problems.push('the state table has no point-in-time recovery');
  return problems;
}

/** An alarm on a TotesEtl metric for every source table, notifying the alarm topic. */
export function metricAlarmsPerTable(templates: Templates, metric: string, tables: readonly string[]): string[] {
  const alarms = resourcesOfType(templates, 'AWS::CloudWatch::Alarm').filter(
    (a) => a.props.Namespace === 'TotesEtl' && a.props.MetricName === metric && asArray(a.props.AlarmActions).some((x) => refTarget(x) !== undefined),
  );
  return tables
    .filter((t) => !alarms.some((a) => asArray(a.props.Dimensions).some((d) => isRecord(d) && d.Name === 'table' && d.Value === t)))
    .map((t) => `no ${metric} alarm for the ${t} table`);
}

// ---------- alarms that reach a person when things stop silently ----------

/** The alarm fires as soon as the metric's statistic is above zero (`> 0` or `>= 1`). */
function firesAboveZero(props: Record<string, unknown>): boolean {
  const { ComparisonOperator: op, Threshold: threshold } = props;
  return (op === 'GreaterThanThreshold' && threshold === 0) || (op === 'GreaterThanOrEqualToThreshold' && threshold === 1);
}

/** The alarm's dimensions are exactly `expected` (CloudWatch matches a metric on its whole dimension set). */
function hasExactDimensions(props: Record<string, unknown>, expected: Record<string, string>): boolean {
  const dims = asArray(props.Dimensions).filter(isRecord);
  const names = Object.keys(expected);
  return dims.length === names.length && names.every((n) => dims.some((d) => d.Name === n && d.Value === expected[n]));
}

/**
 * For every Lambda function of every stack, an alarm on `AWS/Lambda` `metric` (Errors, Throttles)
 * with the single dimension FunctionName = that function's name, Sum > 0, emailing `email`.
 */
export function lambdaAlarmsForEveryFunction(templates: Templates, metric: string, email: string): string[] {
  const problems: string[] = [];
  const alarms = resourcesOfType(templates, 'AWS::CloudWatch::Alarm').filter((a) => a.props.Namespace === 'AWS/Lambda' && a.props.MetricName === metric);
  for (const f of resourcesOfType(templates, 'AWS::Lambda::Function')) {
    const name = f.props.FunctionName;
    if (typeof name !== 'string') {
      problems.push(`${f.service}/${f.id} has no literal FunctionName, so no alarm can name it`);
      continue;
    }
    const watching = alarms.filter((a) => hasExactDimensions(a.props, { FunctionName: name }));
    if (watching.length === 0) {
      problems.push(`no ${metric} alarm for ${name}`);
      continue;
    }
    const good = watching.some((a) => a.props.Statistic === 'Sum' && firesAboveZero(a.props) && notifiesEmail(templates, a, email));
    if (!good) problems.push(`${name}: no ${metric} alarm both fires on Sum > 0 and notifies an SNS topic emailing ${email}`);
  }
  return problems;
}

/**
 * A freshness alarm per source table: `TotesEtl` `DetectionPasses` with exactly the dimensions
 * service=change-detector and table=<table>, firing when the Sum is below 1 in every period of a
 * window of at most `maxWindowSeconds`, missing data breaching (nothing emitted is the symptom), emailing `email`.
 */
export function freshnessAlarmsPerTable(templates: Templates, tables: readonly string[], email: string, maxWindowSeconds: number): string[] {
  const problems: string[] = [];
  const alarms = resourcesOfType(templates, 'AWS::CloudWatch::Alarm').filter((a) => a.props.Namespace === 'TotesEtl' && a.props.MetricName === 'DetectionPasses');
  for (const table of tables) {
    const watching = alarms.filter((a) => hasExactDimensions(a.props, { service: 'change-detector', table }));
    if (watching.length === 0) {
      problems.push(`no DetectionPasses alarm with dimensions service=change-detector, table=${table}`);
      continue;
    }
    for (const a of watching) {
      const p = a.props;
      const where = `${a.service}/${a.id} (${table})`;
      const firesOnNone = (p.ComparisonOperator === 'LessThanThreshold' && p.Threshold === 1) || (p.ComparisonOperator === 'LessThanOrEqualToThreshold' && p.Threshold === 0);
      if (p.Statistic !== 'Sum' || !firesOnNone) problems.push(`${where} does not fire on a Sum below 1`);
      if (p.TreatMissingData !== 'breaching') problems.push(`${where} treats missing data as ${String(p.TreatMissingData ?? 'missing')}, not breaching`);
      const periods = typeof p.DatapointsToAlarm === 'number' ? p.DatapointsToAlarm : p.EvaluationPeriods;
      const window = typeof p.Period === 'number' && typeof periods === 'number' ? p.Period * periods : NaN;
      if (!(window <= maxWindowSeconds)) problems.push(`${where} waits ${String(window)} s of silence, more than ${maxWindowSeconds}`);
      if (!notifiesEmail(templates, a, email)) problems.push(`${where} does not notify an SNS topic emailing ${email}`);
    }
  }
  return problems;
}

/**
 * An alarm per source table on a `TotesEtl` count `metric` of `service`, with exactly the dimensions
 * service=<service> and table=<table> (what Powertools emits), firing as soon as its Sum over one
 * period of `periodSeconds` is above zero, missing data not breaching (no such rows: nothing is
 * emitted), emailing `email`.
 */
export function countAlarmsPerTable(templates: Templates, metric: string, service: string, tables: readonly string[], email: string, periodSeconds: number): string[] {
  const problems: string[] = [];
  const alarms = resourcesOfType(templates, 'AWS::CloudWatch::Alarm').filter((a) => a.props.Namespace === 'TotesEtl' && a.props.MetricName === metric);
  for (const table of tables) {
    const watching = alarms.filter((a) => hasExactDimensions(a.props, { service, table }));
    if (watching.length === 0) {
      problems.push(`no ${metric} alarm with dimensions service=${service}, table=${table}`);
      continue;
    }
    for (const a of watching) {
      const p = a.props;
      const where = `${a.service}/${a.id} (${table})`;
      if (p.Statistic !== 'Sum' || !firesAboveZero(p)) problems.push(`${where} does not fire on a Sum above 0`);
      if (p.Period !== periodSeconds || (p.DatapointsToAlarm ?? p.EvaluationPeriods) !== 1) problems.push(`${where} does not fire on one period of ${periodSeconds} s`);
      if (p.TreatMissingData !== 'notBreaching') problems.push(`${where} treats missing data as ${String(p.TreatMissingData ?? 'missing')}, not as not breaching`);
      if (!notifiesEmail(templates, a, email)) problems.push(`${where} does not notify an SNS topic emailing ${email}`);
    }
  }
  return problems;
}

/**
 * Every function invoked asynchronously by an EventBridge rule keeps its failures: the rule target
 * has a retry policy and a dead-letter queue that the queue's policy lets this rule (events.amazonaws.com,
 * aws:SourceArn) send to, and the function has an on-failure destination its own role may send to.
 * Both queues must exist; that they alarm is dlqsAlarmToEmail's part.
 */
export function asyncInvocationsKeepFailures(templates: Templates): string[] {
  const problems: string[] = [];
  const queueNames = new Map(queues(templates).all.map((q) => [String(q.props.QueueName), q]));
  const queuePolicies = resourcesOfType(templates, 'AWS::SQS::QueuePolicy');
  for (const rule of resourcesOfType(templates, 'AWS::Events::Rule')) {
    const ruleName = String(rule.props.Name);
    for (const target of asArray(rule.props.Targets).filter(isRecord)) {
      const fnId = getAttTarget(target.Arn, 'Arn');
      const fn = fnId ? templates[rule.service].Resources[fnId] : undefined;
      if (fn?.Type !== 'AWS::Lambda::Function') continue;
      const where = `${rule.service}/${rule.id} → ${fnId ?? '?'}`;
      const retry = isRecord(target.RetryPolicy) ? target.RetryPolicy : undefined;
      if (typeof retry?.MaximumRetryAttempts !== 'number' || typeof retry.MaximumEventAgeInSeconds !== 'number') problems.push(`${where}: no retry policy`);
      const dlqName = isRecord(target.DeadLetterConfig) ? arnTail(target.DeadLetterConfig.Arn) : undefined;
      const dlq = dlqName ? queueNames.get(dlqName) : undefined;
      if (!dlq) {
        problems.push(`${where}: no dead-letter queue of the stage (${String(dlqName)})`);
      } else {
        const admitted = queuePolicies.some((p) => {
          if (p.service !== dlq.service || !asArray(p.props.Queues).some((q) => refTarget(q) === dlq.id) || !isRecord(p.props.PolicyDocument)) return false;
          return asArray(p.props.PolicyDocument.Statement)
            .filter(isRecord)
            .some((s) => {
              const principal = isRecord(s.Principal) ? s.Principal.Service : undefined;
              const cond = isRecord(s.Condition) ? (s.Condition.ArnEquals ?? s.Condition.ArnLike) : undefined;
              const source = isRecord(cond) ? arnTail(cond['aws:SourceArn']) : undefined;
              return s.Effect === 'Allow' && principal === 'events.amazonaws.com' && asArray(s.Action).includes('sqs:SendMessage') && source === `rule/${ruleName}`;
            });
        });
        if (!admitted) problems.push(`${where}: the policy of ${dlqName} does not let the rule ${ruleName} (events.amazonaws.com) send to it`);
      }
      const config = resourcesOfType(templates, 'AWS::Lambda::EventInvokeConfig', rule.service).find((c) => refTarget(c.props.FunctionName) === fnId);
      const onFailure = config && isRecord(config.props.DestinationConfig) && isRecord(config.props.DestinationConfig.OnFailure) ? config.props.DestinationConfig.OnFailure : undefined;
      const destination = onFailure ? arnTail(onFailure.Destination) : undefined;
      if (!destination || !queueNames.has(destination)) {
        problems.push(`${where}: the function has no on-failure destination queue of the stage`);
        continue;
      }
      const roleId = getAttTarget(fn.Properties?.Role, 'Arn');
      const role = roleId ? templates[rule.service].Resources[roleId] : undefined;
      const statements = asArray(role?.Properties?.Policies)
        .filter(isRecord)
        .flatMap((p) => (isRecord(p.PolicyDocument) ? asArray(p.PolicyDocument.Statement).filter(isRecord) : []));
      const maySend = statements.some((s) => s.Effect === 'Allow' && asArray(s.Action).includes('sqs:SendMessage') && asArray(s.Resource).some((r) => arnTail(r) === destination));
      if (!maySend) problems.push(`${where}: its role may not send to its on-failure destination ${destination}`);
    }
  }
  return problems;
}

// ---------- least privilege, by function ----------

/** The inline policy statements of each function's role, by function name. */
function roleStatementsByFunction(templates: Templates): Map<string, Record<string, unknown>[]> {
  const out = new Map<string, Record<string, unknown>[]>();
  for (const f of resourcesOfType(templates, 'AWS::Lambda::Function')) {
    const roleId = getAttTarget(f.props.Role, 'Arn');
    const role = roleId ? templates[f.service].Resources[roleId] : undefined;
    const statements = asArray(role?.Properties?.Policies)
      .filter(isRecord)
      .flatMap((p) => (isRecord(p.PolicyDocument) ? asArray(p.PolicyDocument.Statement).filter(isRecord) : []))
      .filter((s) => s.Effect === 'Allow');
    out.set(String(f.props.FunctionName), statements);
  }
  return out;
}

function compareSets(where: string, actual: Iterable<string>, expected: Iterable<string>): string[] {
  const a = new Set(actual);
  const e = new Set(expected);
  return [...[...e].filter((x) => !a.has(x)).map((x) => `${where} lacks ${x}`), ...[...a].filter((x) => !e.has(x)).map((x) => `${where} also allows ${x}`)];
}

/** `bucket-role/key` of an S3 ARN (plain or Fn::Sub), the bucket named by its role in the stage (ingestion, processed). */
function s3Target(resource: unknown): string {
  const text = typeof resource === 'string' ? resource : isRecord(resource) && typeof resource['Fn::Sub'] === 'string' ? resource['Fn::Sub'] : JSON.stringify(resource);
  const m = /^arn:[^:]*:s3:::([^/]+)(\/.*)?$/.exec(text.replace('${AWS::Partition}', 'aws'));
  if (!m) return text;
  const bucket = /-(ingestion|processed)-/.exec(m[1] as string)?.[1] ?? m[1];
  return `${bucket}${m[2] ?? ''}`;
}

/**
 * The S3 grants of each function's role, as "action target" strings: `s3:GetObject processed/processed/dim_date/*`,
 * `s3:ListBucket ingestion prefix=raw/address/*` (one per allowed s3:prefix; `prefix=<any>` when unconditioned).
 */
function s3Grants(statements: Record<string, unknown>[]): string[] {
  const out: string[] = [];
  for (const s of statements) {
    for (const action of asArray(s.Action).map(String)) {
      if (!action.startsWith('s3:') && action !== '*') continue;
      for (const r of asArray(s.Resource)) {
        if (action !== 's3:ListBucket') {
          out.push(`${action} ${s3Target(r)}`);
          continue;
        }
        const like = isRecord(s.Condition) && isRecord(s.Condition.StringLike) ? asArray(s.Condition.StringLike['s3:prefix']).map(String) : [];
        const equals = isRecord(s.Condition) && isRecord(s.Condition.StringEquals) ? asArray(s.Condition.StringEquals['s3:prefix']).map(String) : [];
        const prefixes = [...like, ...equals];
        if (prefixes.length === 0) out.push(`${action} ${s3Target(r)} prefix=<any>`);
        for (const p of prefixes) out.push(`${action} ${s3Target(r)} prefix=${p}`);
      }
    }
  }
  return out;
}

/** Each named function's role grants exactly these S3 actions on exactly these buckets, keys and listing prefixes. */
export function s3GrantsAreExactly(templates: Templates, expected: Record<string, readonly string[]>): string[] {
  const byFunction = roleStatementsByFunction(templates);
  const problems: string[] = [];
  for (const [fn, grants] of Object.entries(expected)) {
    const statements = byFunction.get(fn);
    if (!statements) problems.push(`no function ${fn}`);
    else problems.push(...compareSets(fn, s3Grants(statements), grants));
  }
  return problems;
}

/**
 * Each named function's role grants exactly these DynamoDB actions (none: an empty list), each
 * limited by dynamodb:LeadingKeys to exactly these key patterns.
 */
export function stateGrantsAreExactly(templates: Templates, expected: Record<string, { actions: readonly string[]; keys: readonly string[] }>): string[] {
  const byFunction = roleStatementsByFunction(templates);
  const problems: string[] = [];
  for (const [fn, want] of Object.entries(expected)) {
    const statements = byFunction.get(fn);
    if (!statements) {
      problems.push(`no function ${fn}`);
      continue;
    }
    const grants: string[] = [];
    for (const s of statements) {
      const actions = asArray(s.Action).map(String).filter((a) => a.startsWith('dynamodb:') || a === '*');
      if (actions.length === 0) continue;
      const cond = isRecord(s.Condition) ? s.Condition['ForAllValues:StringLike'] : undefined;
      const keys = isRecord(cond) ? asArray(cond['dynamodb:LeadingKeys']).map(String) : [];
      if (keys.length === 0) problems.push(`${fn}: ${actions.join(', ')} not limited by dynamodb:LeadingKeys`);
      for (const a of actions) for (const k of keys.length > 0 ? keys : ['<any key>']) grants.push(`${a} ${k}`);
    }
    problems.push(...compareSets(fn, grants, want.actions.flatMap((a) => want.keys.map((k) => `${a} ${k}`))));
  }
  return problems;
}
