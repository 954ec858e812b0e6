import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';

/** What a put may say about its object besides the bytes. */
export interface PutOptions {
  contentType?: string;
  metadata?: Record<string, string>;
  /**
   * The SHA-256 of `body`, when the caller has it already: S3 verifies the object against it
   * (instead of the SDK computing a CRC32 of the body) and the request is signed with it (instead
   * of the SDK hashing the body a second time).
   */
  sha256?: Uint8Array;
}

/**
 * The lake's object store. Objects are immutable: `putImmutable` writes with If-None-Match so an
 * existing key is never overwritten; a retry that finds its own object already there is fine
 * (keys are derived from content, so the same key means the same bytes).
 */
export interface ObjectStore {
  /** Write once. Returns false if the key already existed (nothing was written). */
  putImmutable(bucket: string, key: string, body: Uint8Array, options?: PutOptions): Promise<boolean>;
  get(bucket: string, key: string): Promise<Uint8Array>;
  exists(bucket: string, key: string): Promise<boolean>;
}

export class S3ObjectStore implements ObjectStore {
  constructor(private readonly s3: S3Client) {}

  async putImmutable(bucket: string, key: string, body: Uint8Array, options: PutOptions = {}): Promise<boolean> {
    const { sha256 } = options;
    const command = new PutObjectCommand({
      Bucket: bucket,
      Key: key,
      Body: body,
      IfNoneMatch: '*',
      ...(options.contentType ? { ContentType: options.contentType } : {}),
      ...(options.metadata ? { Metadata: options.metadata } : {}),
      ...(sha256 ? { ChecksumSHA256: Buffer.from(sha256).toString('base64') } : {}),
    });
    if (sha256) {
      // SigV4's payload hash is the hex SHA-256 of the body: given, the signer does not hash the body itself.
      const payloadHash = Buffer.from(sha256).toString('hex');
      command.middlewareStack.add(
        (next) => (args) => {
          const request = args.request as { headers?: Record<string, string> };
          if (request.headers) request.headers['x-amz-content-sha256'] = payloadHash;
          return next(args);
        },
        { step: 'build', name: 'totesPayloadSha256' },
      );
    }
    try {
      await this.s3.send(command);
      return true;
    } catch (err) {
      // 412: the key exists. 409 ConditionalRequestConflict: a concurrent write of it is in flight.
      if (err instanceof Error && (err.name === 'PreconditionFailed' || err.name === 'ConditionalRequestConflict')) return false;
      throw err;
    }
  }

  async get(bucket: string, key: string): Promise<Uint8Array> {
    const out = await this.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    if (!out.Body) throw new Error(`s3://${bucket}/${key} has no body`);
    return out.Body.transformToByteArray();
  }

  async exists(bucket: string, key: string): Promise<boolean> {
    try {
      await this.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      return true;
    } catch (err) {
      if (err instanceof Error && (err.name === 'NotFound' || err.name === 'NoSuchKey')) return false;
      throw err;
    }
  }
}
