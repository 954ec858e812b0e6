import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { TotesError } from '@totes/shared/errors';

/**
 * SQS and S3 from fauxqs (1.9.2, the version npm resolves on Node 20), in this process, made durable.
 *
 * fauxqs keeps everything in memory. The pipeline's local state must survive a restart and even a
 * SIGKILL, so its stores are extended here, behind the unchanged HTTP API:
 *  - SQS: every change to a message's place is appended to a journal (sent to a queue, received,
 *    deleted, purged; a move to a DLQ is a send to the DLQ). On start the journal is replayed and
 *    compacted; messages that were in flight when the process died become visible again, which
 *    is what SQS does when their visibility timeout expires.
 *  - S3: every object is written to a file (with its metadata beside it) before PutObject answers;
 *    bodies are read back from disk on demand, so the lake does not have to fit in memory.
 *  - S3 conditional writes: PutObject with `If-None-Match: *` answers 412 PreconditionFailed when the
 *    key exists, as S3 does; fauxqs ignores the header, and the immutable lake depends on it.
 * The journal and files are written synchronously: a killed process loses nothing it acknowledged.
 */
export interface DurableFauxqs {
  readonly endpoint: string;
  readonly port: number;
  stop(): Promise<void>;
}

interface SqsMessage {
  messageId: string;
  body: string;
  md5OfBody: string;
  messageAttributes: Record<string, unknown>;
  md5OfMessageAttributes: string;
  sentTimestamp: number;
  approximateReceiveCount: number;
  approximateFirstReceiveTimestamp?: number;
  delayUntil?: number;
  messageGroupId?: string;
  messageDeduplicationId?: string;
}

interface SqsQueueLike {
  name: string;
  messages: SqsMessage[];
  inflightMessages: Map<string, { message: SqsMessage }>;
  enqueue(msg: SqsMessage): void;
  dequeue(max: number, vt?: number, resolver?: unknown): Array<{ MessageId: string }>;
  deleteMessage(receiptHandle: string): boolean;
  purge(): void;
}

interface S3ObjectLike {
  key: string;
  body: Buffer;
  contentType: string;
  contentLength: number;
  etag: string;
  lastModified: Date;
  metadata: Record<string, string>;
}

type JournalEntry =
  | { op: 'put'; q: string; m: SqsMessage }
  | { op: 'recv'; id: string; n: number; f?: number }
  | { op: 'del'; id: string }
  | { op: 'purge'; q: string };

function fauxqsDistDir(): string {
  for (const base of require.resolve.paths('fauxqs') ?? []) {
    const candidate = path.join(base, 'fauxqs', 'dist');
    if (fs.existsSync(path.join(candidate, 'app.js'))) return candidate;
  }
  throw new TotesError('The fauxqs package is not installed; run npm install.');
}

async function importDist<T>(dist: string, file: string): Promise<T> {
  return (await import(pathToFileURL(path.join(dist, file)).href)) as T;
}

/** Replays the journal into `{ messageId → (queue, message) }`, in order. */
function replayJournal(file: string): Map<string, { q: string; m: SqsMessage }> {
  const live = new Map<string, { q: string; m: SqsMessage }>();
  if (!fs.existsSync(file)) return live;
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  for (const line of lines) {
    if (!line) continue;
    let entry: JournalEntry;
    try {
      entry = JSON.parse(line) as JournalEntry;
    } catch {
      continue; // a line torn by a kill mid-write: everything before it is intact
    }
    switch (entry.op) {
      case 'put':
        live.set(entry.m.messageId, { q: entry.q, m: entry.m });
        break;
      case 'recv': {
        const found = live.get(entry.id);
        if (found) {
          found.m.approximateReceiveCount = entry.n;
          if (entry.f !== undefined) found.m.approximateFirstReceiveTimestamp = entry.f;
        }
        break;
      }
      case 'del':
        live.delete(entry.id);
        break;
      case 'purge':
        for (const [id, v] of live) if (v.q === entry.q) live.delete(id);
        break;
    }
  }
  return live;
}

function encodeKey(key: string): string {
  // One file per object; keys may contain '/', which become directories, but never '..'.
  return key
    .split('/')
    .map((part) => encodeURIComponent(part).replace(/^\.+$/, (m) => '%2E'.repeat(m.length)))
    .join('/');
}

export async function startDurableFauxqs(options: { dir: string; log: (line: string) => void }): Promise<DurableFauxqs> {
  const { dir } = options;
  const dist = fauxqsDistDir();
  const { buildApp } = await importDist<{ buildApp: (o: unknown) => FastifyLike }>(dist, 'app.js');
  const { SqsStore } = await importDist<{ SqsStore: new () => SqsStoreLike }>(dist, 'sqs/sqsStore.js');
  const { SnsStore } = await importDist<{ SnsStore: new () => object }>(dist, 'sns/snsStore.js');
  const { S3Store } = await importDist<{ S3Store: new () => S3StoreLike }>(dist, 's3/s3Store.js');

  const sqsDir = path.join(dir, 'sqs');
  const s3Dir = path.join(dir, 's3');
  fs.mkdirSync(sqsDir, { recursive: true });
  fs.mkdirSync(s3Dir, { recursive: true });
  const journalFile = path.join(sqsDir, 'journal.jsonl');

  // ---- SQS: replay, compact, then journal every change ----
  const pending = replayJournal(journalFile);
  const compacted = [...pending.values()].map(({ q, m }) => JSON.stringify({ op: 'put', q, m } satisfies JournalEntry)).join('\n');
  fs.writeFileSync(`${journalFile}.tmp`, compacted ? `${compacted}\n` : '');
  fs.renameSync(`${journalFile}.tmp`, journalFile);
  const journalFd = fs.openSync(journalFile, 'a');
  const append = (entry: JournalEntry) => fs.writeSync(journalFd, `${JSON.stringify(entry)}\n`);

  const sqsStore = new SqsStore();
  const originalCreateQueue = sqsStore.createQueue.bind(sqsStore);
  sqsStore.createQueue = (...args: unknown[]) => {
    const queue = originalCreateQueue(...args);
    instrumentQueue(queue, append);
    // Messages that were waiting (or in flight) in this queue when the process stopped come back.
    for (const [id, v] of pending) {
      if (v.q !== queue.name) continue;
      pending.delete(id);
      queue.messages.push({ ...v.m, delayUntil: undefined });
    }
    return queue;
  };

  // ---- S3: files on disk, bodies read on demand ----
  const s3Store = new S3Store();
  const objectFile = (bucket: string, key: string) => path.join(s3Dir, encodeURIComponent(bucket), 'objects', encodeKey(key));
  const metaFile = (bucket: string, key: string) => path.join(s3Dir, encodeURIComponent(bucket), 'meta', `${encodeKey(key)}.json`);
  const lazyBody = (obj: S3ObjectLike, file: string) => {
    Object.defineProperty(obj, 'body', { get: () => fs.readFileSync(file), enumerable: true, configurable: true });
  };
  const writeAtomic = (file: string, data: Buffer | string) => {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(`${file}.tmp`, data);
    fs.renameSync(`${file}.tmp`, file);
  };
  const persistObject = (bucket: string, obj: S3ObjectLike) => {
    const file = objectFile(bucket, obj.key);
    writeAtomic(file, obj.body);
    const { key, contentType, contentLength, etag, lastModified, metadata } = obj;
    writeAtomic(metaFile(bucket, key), JSON.stringify({ key, contentType, contentLength, etag, lastModified, metadata }));
    lazyBody(obj, file);
  };
  const originalPut = s3Store.putObject.bind(s3Store);
  s3Store.putObject = (bucket, key, body, contentType, metadata) => {
    const obj = originalPut(bucket, key, body, contentType, metadata);
    persistObject(bucket, obj);
    return obj;
  };
  const originalComplete = s3Store.completeMultipartUpload.bind(s3Store);
  s3Store.completeMultipartUpload = (uploadId, parts) => {
    const bucket = s3Store.multipartUploads.get(uploadId)?.bucket;
    const obj = originalComplete(uploadId, parts);
    if (bucket) persistObject(bucket, obj);
    return obj;
  };
  const originalDelete = s3Store.deleteObject.bind(s3Store);
  s3Store.deleteObject = (bucket, key) => {
    originalDelete(bucket, key);
    fs.rmSync(objectFile(bucket, key), { force: true });
    fs.rmSync(metaFile(bucket, key), { force: true });
  };
  const originalCreateBucket = s3Store.createBucket.bind(s3Store);
  s3Store.createBucket = (name) => {
    const existed = s3Store.hasBucket(name);
    originalCreateBucket(name);
    fs.mkdirSync(path.join(s3Dir, encodeURIComponent(name), 'objects'), { recursive: true });
    if (!existed) restoreBucket(name);
  };
  const restoreBucket = (bucket: string) => {
    const metaRoot = path.join(s3Dir, encodeURIComponent(bucket), 'meta');
    const objects = s3Store.buckets.get(bucket);
    if (!objects || !fs.existsSync(metaRoot)) return;
    for (const entry of fs.readdirSync(metaRoot, { recursive: true, withFileTypes: true })) {
      if (!entry.isFile() || !entry.name.endsWith('.json')) continue;
      const meta = JSON.parse(fs.readFileSync(path.join(entry.parentPath, entry.name), 'utf8')) as Omit<S3ObjectLike, 'body'>;
      const file = objectFile(bucket, meta.key);
      if (!fs.existsSync(file)) continue;
      const obj = { ...meta, lastModified: new Date(meta.lastModified), body: Buffer.alloc(0) } as S3ObjectLike;
      lazyBody(obj, file);
      objects.set(meta.key, obj);
    }
  };

  const app = buildApp({ logger: false, stores: { sqsStore, snsStore: new SnsStore(), s3Store } });
  // A conditional PUT reserves its key from the moment its headers arrive until its response is
  // sent: fauxqs stores the object only after reading the body, so without the reservation two
  // concurrent conditional PUTs of one key would both pass the check and the second would overwrite.
  const reserved = new Set<string>();
  const reservations = new WeakMap<object, string>();
  app.addHook('onRequest', (request: RequestLike, reply: ReplyLike, done: () => void) => {
    if (request.method === 'PUT' && request.headers['if-none-match'] === '*' && !request.url.includes('uploadId=')) {
      const [bucket, ...keyParts] = request.url.split('?')[0]!.replace(/^\//, '').split('/');
      const key = keyParts.map((p) => decodeURIComponent(p)).join('/');
      const id = `${decodeURIComponent(bucket ?? '')}/${key}`;
      if (bucket && key && (reserved.has(id) || s3Store.buckets.get(decodeURIComponent(bucket))?.has(key))) {
        reply
          .code(412)
          .header('content-type', 'application/xml')
          .send(
            '<?xml version="1.0" encoding="UTF-8"?><Error><Code>PreconditionFailed</Code>' +
              '<Message>At least one of the pre-conditions you specified did not hold</Message><Condition>If-None-Match</Condition></Error>',
          );
        return;
      }
      reserved.add(id);
      reservations.set(request, id);
    }
    done();
  });
  app.addHook('onResponse', (request: RequestLike, _reply: ReplyLike, done: () => void) => {
    const id = reservations.get(request);
    if (id) reserved.delete(id);
    done();
  });
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  const port = Number(new URL(address).port);
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    async stop() {
      await app.close();
      fs.closeSync(journalFd);
    },
  };
}

function instrumentQueue(queue: SqsQueueLike, append: (e: JournalEntry) => void): void {
  const enqueue = queue.enqueue.bind(queue);
  queue.enqueue = (msg) => {
    append({ op: 'put', q: queue.name, m: msg });
    enqueue(msg);
  };
  const dequeue = queue.dequeue.bind(queue);
  queue.dequeue = (max, vt, resolver) => {
    const received = dequeue(max, vt, resolver);
    for (const r of received) {
      const entry = [...queue.inflightMessages.values()].find((e) => e.message.messageId === r.MessageId);
      if (entry) append({ op: 'recv', id: r.MessageId, n: entry.message.approximateReceiveCount, f: entry.message.approximateFirstReceiveTimestamp });
    }
    return received;
  };
  const deleteMessage = queue.deleteMessage.bind(queue);
  queue.deleteMessage = (receiptHandle) => {
    const id = queue.inflightMessages.get(receiptHandle)?.message.messageId;
    const deleted = deleteMessage(receiptHandle);
    if (deleted && id) append({ op: 'del', id });
    return deleted;
  };
  const purge = queue.purge.bind(queue);
  queue.purge = () => {
    append({ op: 'purge', q: queue.name });
    purge();
  };
}

// Minimal structural types of the fauxqs internals used above (fauxqs is pinned at 1.9.2).
interface SqsStoreLike {
  createQueue(...args: unknown[]): SqsQueueLike;
}
interface S3StoreLike {
  buckets: Map<string, Map<string, S3ObjectLike>>;
  multipartUploads: Map<string, { bucket: string }>;
  hasBucket(name: string): boolean;
  createBucket(name: string): void;
  putObject(bucket: string, key: string, body: Buffer, contentType?: string, metadata?: Record<string, string>): S3ObjectLike;
  completeMultipartUpload(uploadId: string, parts: unknown): S3ObjectLike;
  deleteObject(bucket: string, key: string): void;
}
interface RequestLike {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
}
interface ReplyLike {
  code(n: number): ReplyLike;
  header(k: string, v: string): ReplyLike;
  send(body: string): void;
}
interface FastifyLike {
  addHook(name: 'onRequest' | 'onResponse', fn: (req: RequestLike, reply: ReplyLike, done: () => void) => void): void;
  listen(o: { port: number; host: string }): Promise<string>;
  close(): Promise<void>;
}
