/**
 * One bucket in memory behind aws-sdk-client-mock's S3Client mock, for unit tests of the agent's
 * S3 side: GetObject (a Body that is both a stream and has transformToString, as the SDK's is),
 * PutObject (IfNoneMatch '*' refused with S3's typed PreconditionFailed when the key exists),
 * HeadObject, ListObjectsV2 by prefix, DeleteObject. Every call is kept in `log` ("get etcd/…").
 */
import { Readable } from 'node:stream';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  NoSuchKey,
  PutObjectCommand,
  S3ServiceException,
  type S3ClientResolvedConfig,
  type ServiceInputTypes,
  type ServiceOutputTypes,
} from '@aws-sdk/client-s3';
import type { AwsStub } from 'aws-sdk-client-mock';

export interface StoredObject {
  body: Buffer;
  metadata?: Record<string, string>;
}

const noKey = (key: string) => new NoSuchKey({ message: `The specified key does not exist: ${key}`, $metadata: { httpStatusCode: 404 } });

async function bytesOf(body: unknown): Promise<Buffer> {
  if (body === undefined || body === null) return Buffer.alloc(0);
  if (typeof body === 'string' || body instanceof Uint8Array) return Buffer.from(body as string);
  if (body instanceof Readable || typeof (body as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function') {
    const chunks: Buffer[] = [];
    for await (const c of body as AsyncIterable<Buffer | string>) chunks.push(Buffer.from(c));
    return Buffer.concat(chunks);
  }
  throw new Error(`memory S3: a body of type ${typeof body} is not handled`);
}

export class MemoryBucket {
  readonly objects = new Map<string, StoredObject>();
  readonly log: string[] = [];
  /** called before a PutObject is stored (a test's chance to let another writer in first) */
  beforePut?: (key: string) => void;

  constructor(readonly name: string) {}

  put(key: string, body: string | Buffer, metadata?: Record<string, string>): void {
    this.objects.set(key, { body: Buffer.from(body), ...(metadata ? { metadata } : {}) });
  }
  text(key: string): string | undefined {
    return this.objects.get(key)?.body.toString('utf8');
  }
  keys(prefix = ''): string[] {
    return [...this.objects.keys()].filter((k) => k.startsWith(prefix)).sort();
  }

  /** Wires the mock: every call to another bucket fails loudly. */
  attach(s3: AwsStub<ServiceInputTypes, ServiceOutputTypes, S3ClientResolvedConfig>): void {
    const mine = (b: string | undefined) => {
      if (b !== this.name) throw new Error(`memory S3: a call to bucket ${b}, not ${this.name}`);
    };
    s3.on(GetObjectCommand).callsFake((i: { Bucket: string; Key: string }) => {
      mine(i.Bucket);
      this.log.push(`get ${i.Key}`);
      const o = this.objects.get(i.Key);
      if (!o) throw noKey(i.Key);
      const body = Object.assign(Readable.from([o.body]), {
        transformToString: async (enc?: string) => o.body.toString((enc ?? 'utf8') as BufferEncoding),
        transformToByteArray: async () => new Uint8Array(o.body),
      });
      return { Body: body, ContentLength: o.body.length, ...(o.metadata ? { Metadata: o.metadata } : {}) };
    });
    s3.on(HeadObjectCommand).callsFake((i: { Bucket: string; Key: string }) => {
      mine(i.Bucket);
      this.log.push(`head ${i.Key}`);
      const o = this.objects.get(i.Key);
      if (!o)
        throw new S3ServiceException({ name: 'NotFound', $fault: 'client', $metadata: { httpStatusCode: 404 }, message: 'Not Found' });
      return { ContentLength: o.body.length, ...(o.metadata ? { Metadata: o.metadata } : {}) };
    });
    s3.on(PutObjectCommand).callsFake(
      async (i: { Bucket: string; Key: string; Body: unknown; IfNoneMatch?: string; Metadata?: Record<string, string> }) => {
        mine(i.Bucket);
        const body = await bytesOf(i.Body);
        this.log.push(`put ${i.Key}${i.IfNoneMatch ? ' if-none-match' : ''}`);
        this.beforePut?.(i.Key);
        if (i.IfNoneMatch === '*' && this.objects.has(i.Key))
          throw new S3ServiceException({
            name: 'PreconditionFailed',
            $fault: 'client',
            $metadata: { httpStatusCode: 412 },
            message: 'At least one of the pre-conditions you specified did not hold',
          });
        this.objects.set(i.Key, { body, ...(i.Metadata ? { metadata: i.Metadata } : {}) });
        return { ETag: '"memory"' };
      },
    );
    s3.on(ListObjectsV2Command).callsFake((i: { Bucket: string; Prefix?: string }) => {
      mine(i.Bucket);
      this.log.push(`list ${i.Prefix ?? ''}`);
      return {
        IsTruncated: false,
        KeyCount: this.keys(i.Prefix).length,
        Contents: this.keys(i.Prefix).map((Key) => ({ Key, Size: this.objects.get(Key)!.body.length })),
      };
    });
    s3.on(DeleteObjectCommand).callsFake((i: { Bucket: string; Key: string }) => {
      mine(i.Bucket);
      this.log.push(`delete ${i.Key}`);
      this.objects.delete(i.Key);
      return {};
    });
  }
}
