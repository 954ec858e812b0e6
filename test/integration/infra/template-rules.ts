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

function dlqIds(templates: Templates): Set<string> {
  return new Set(queues(templates).work.flatMap((q) => (q.dlqId ? [q.dlqId] : [])));
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
    if (!redrivePolicy(q.props) && !dlqs.has(q.id)) problems.push(`queue ${q.id} is neither a work queue nor the DLQ of one`);
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

/** Every DLQ has an alarm (> 0 visible messages) whose action is an SNS topic with an email subscription to `email`. */
export function dlqsAlarmToEmail(templates: Templates, email: string): string[] {
  const problems: string[] = [];
  const { all } = queues(templates);
  const alarms = resourcesOfType(templates, 'AWS::CloudWatch::Alarm');
  const topics = new Set(resourcesOfType(templates, 'AWS::SNS::Topic').map((t) => t.id));
  const emailTopics = new Set<string>();
  for (const s of resourcesOfType(templates, 'AWS::SNS::Subscription')) {
    const topic = refTarget(s.props.TopicArn);
    if (topic && s.props.Protocol === 'email' && s.props.Endpoint === email) emailTopics.add(topic);
  }
  for (const t of resourcesOfType(templates, 'AWS::SNS::Topic')) {
    for (const sub of asArray(t.props.Subscription)) {
      if (isRecord(sub) && sub.Protocol === 'email' && sub.Endpoint === email) emailTopics.add(t.id);
    }
  }
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
    const good = watching.some((a) => {
      const { ComparisonOperator: op, Threshold: threshold } = a.props;
      const firesOnOne =
        (op === 'GreaterThanThreshold' && threshold === 0) || (op === 'GreaterThanOrEqualToThreshold' && threshold === 1);
      const notifies = asArray(a.props.AlarmActions).some((action) => {
        const topic = refTarget(action);
        return topic !== undefined && topics.has(topic) && emailTopics.has(topic);
      });
      return firesOnOne && notifies;
    });
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
