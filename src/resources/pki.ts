/**
 * The cluster's identity in s3://<bucket>/pki/: the cluster, etcd and front-proxy CAs and the
 * service-account key pair, with the names master.sh fetches, and the aescbc keys Secrets are
 * encrypted with at rest (pki/encryption/<name>, spec.encryption: named by the node's props, their
 * bytes only ever in the bucket — kops keeps its key in its state store the same way). Generated
 * once: each file is written with `If-None-Match: *`, so an existing one is never overwritten, a CA
 * whose key exists is never regenerated (a rebuilt master keeps its identity; restored etcd data
 * stays valid), and a key the spec no longer names is never deleted (older snapshots need it).
 *
 * Ownership = living under pki/ in the derived bucket. observe reads the bucket's one listing of the
 * pass (own-buckets.ts bucketObjects) and records only which files exist — no key material ever reaches the state file or the output. delete does
 * nothing: pki/ goes with the bucket (or stays with it, beside kept etcd backups).
 */
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { errorCode, isLostResponse, isNotFound, KubeazError } from '../aws/errors.js';
import { BUCKET_SSE } from '../aws/s3.js';
import { completeFromKey, generatePair, PKI_FILES, PKI_PAIRS, type PkiPair } from '../pki/ca.js';
import { jwksOf } from '../pki/jwks.js';
import { generateEncryptionKey } from '../pki/encryption-key.js';
import { ENCRYPTION_KEYS_DIR, encryptionKeyFile } from '../model/encryption.js';
import { mayHave } from './cluster-record.js';
import { bucketObjects } from './own-buckets.js';
import { change } from './common.js';
import type { ActualOf, Change, ResourceHandler, RunContext } from './types.js';

export const PKI_PREFIX = 'pki/';

export interface PkiObserved {
  /** which of PKI_FILES and the aescbc keys (encryption/<name>) exist (names relative to pki/) */
  files: string[];
}

/** The files a pki node wants: the CAs' and service-account pair's, and its aescbc keys. */
const wanted = (encryptionKeys: readonly string[]): string[] => [...PKI_FILES, ...encryptionKeys.map(encryptionKeyFile)];

/** The service-account public key: the issuer's JWKS (IRSA) is made from it. */
export const SA_PUBLIC_KEY = 'sa.pub';

/**
 * attrs.jwks: the JWKS of pki/sa.pub (public, like the key itself), for IRSA's discovery bucket —
 * the one attribute read from a key file (GetObject of sa.pub, never of a private key).
 */
const actualOf = (bucket: string, files: string[], jwks?: string): ActualOf<PkiObserved> => ({
  key: 'pki',
  kind: 'pki',
  id: `s3://${bucket}/${PKI_PREFIX}`,
  attrs: { bucket, ...(jwks !== undefined ? { jwks } : {}) },
  tags: {},
  observed: { files: [...files].sort() } satisfies PkiObserved,
});

/** A pair whose certificate (or public key) exists without its key, or the other way round. */
export function brokenPairs(files: readonly string[]): PkiPair[] {
  const have = new Set(files);
  return PKI_PAIRS.filter((p) => have.has(p.cert) !== have.has(p.key));
}

function refuseBroken(bucket: string, broken: PkiPair[], present: ReadonlySet<string>): never {
  const lines = broken.map((p) => {
    const [has, missing] = present.has(p.cert) ? [p.cert, p.key] : [p.key, p.cert];
    return `s3://${bucket}/${PKI_PREFIX}${missing} is missing but s3://${bucket}/${PKI_PREFIX}${has} exists (${p.name})`;
  });
  throw new KubeazError(
    `${lines.join('; ')}: kubeaz never regenerates half of a CA or key pair — a new one would invalidate every certificate and the etcd data made under the old one. ` +
      `Restore the missing file from an earlier version of the object (the bucket is versioned), or delete the remaining half too to make a new pair.`,
    'PkiIncomplete',
    'pki',
  );
}

/**
 * Writes `body` to `key` unless the key exists. Returns true when the object now holds our bytes
 * (written now, or by our own earlier attempt whose answer was lost), false when another writer's
 * object was there first.
 */
async function putIfAbsent(
  ctx: RunContext,
  s3: S3Client,
  Bucket: string,
  key: string,
  body: string,
  ContentType = 'application/x-pem-file',
): Promise<boolean> {
  for (let attempt = 1; attempt <= 3; attempt++) {
    try {
      await s3.send(
        new PutObjectCommand({
          Bucket,
          Key: key,
          Body: body,
          ContentType,
          ServerSideEncryption: BUCKET_SSE,
          ExpectedBucketOwner: ctx.accountId,
          IfNoneMatch: '*',
        }),
      );
      return true;
    } catch (e) {
      const code = errorCode(e);
      if (code !== 'PreconditionFailed' && code !== 'ConditionalRequestConflict' && !isLostResponse(e)) throw e;
      // Something is there, or may be: is it what we tried to write?
      let existing: string | undefined;
      try {
        const got = await s3.send(new GetObjectCommand({ Bucket, Key: key, ExpectedBucketOwner: ctx.accountId }));
        existing = await got.Body?.transformToString('utf8');
      } catch (g) {
        if (!isNotFound(g)) throw g;
      }
      if (existing !== undefined) return existing === body;
      if (!isLostResponse(e) && code !== 'ConditionalRequestConflict') return false;
      // a lost answer and nothing there: the write did not happen; try again
    }
  }
  throw new KubeazError(`could not write s3://${Bucket}/${key}`, 'PkiWriteFailed', 'pki');
}

/**
 * Generates and uploads every pair of which both halves are missing; refuses half pairs first.
 * Returns the files written with their bodies (the public halves' are known without a read).
 */
async function uploadMissing(ctx: RunContext, Bucket: string, present: readonly string[]): Promise<Map<string, string>> {
  const have = new Set(present);
  const s3 = await ctx.aws.s3();
  const written = new Map<string, string>();
  // Keys are written before their certificates, so a create killed in between leaves a key alone:
  // its public half is made again from it. A certificate without its key cannot be mended.
  const lost = brokenPairs(present).filter((p) => have.has(p.cert));
  if (lost.length) refuseBroken(Bucket, lost, have);
  for (const pair of brokenPairs(present)) {
    const got = await s3.send(new GetObjectCommand({ Bucket, Key: PKI_PREFIX + pair.key, ExpectedBucketOwner: ctx.accountId }));
    const keyPem = (await got.Body?.transformToString('utf8')) ?? '';
    const cert = await completeFromKey(pair, keyPem);
    if (await putIfAbsent(ctx, s3, Bucket, PKI_PREFIX + pair.cert, cert)) {
      ctx.progress.emit({
        type: 'warn',
        message: `pki: ${pair.cert} was missing beside its key (an interrupted create); made it again from ${pair.key}`,
      });
      written.set(pair.cert, cert);
    }
  }
  const todo = PKI_PAIRS.filter((p) => !have.has(p.cert) && !have.has(p.key));
  await Promise.all(
    todo.map(async (pair) => {
      const files = await generatePair(pair);
      // Key first: a certificate is only ever published beside the key that made it.
      if (!(await putIfAbsent(ctx, s3, Bucket, PKI_PREFIX + pair.key, files.key))) {
        ctx.progress.emit({
          type: 'warn',
          message: `pki: s3://${Bucket}/${PKI_PREFIX}${pair.key} appeared meanwhile (another run?); keeping it`,
        });
        return;
      }
      if (!(await putIfAbsent(ctx, s3, Bucket, PKI_PREFIX + pair.cert, files.cert))) {
        throw new KubeazError(
          `s3://${Bucket}/${PKI_PREFIX}${pair.cert} appeared while kubeaz wrote its key ${pair.key}: two runs raced; delete both files of the ${pair.name} and run create again`,
          'PkiRace',
          'pki',
        );
      }
      written.set(pair.key, files.key).set(pair.cert, files.cert);
    }),
  );
  return written;
}

/**
 * Generates each aescbc key that is not there yet (never one that is: the Secrets encrypted with it
 * would be lost). Another writer's key that appeared meanwhile is kept, as the CAs are.
 */
async function uploadMissingKeys(ctx: RunContext, Bucket: string, names: readonly string[], present: readonly string[]): Promise<void> {
  const have = new Set(present);
  const todo = names.map(encryptionKeyFile).filter((f) => !have.has(f));
  if (!todo.length) return;
  const s3 = await ctx.aws.s3();
  for (const f of todo)
    if (!(await putIfAbsent(ctx, s3, Bucket, PKI_PREFIX + f, generateEncryptionKey(), 'text/plain')))
      ctx.progress.emit({ type: 'warn', message: `pki: s3://${Bucket}/${PKI_PREFIX}${f} appeared meanwhile (another run?); keeping it` });
}

/** The JWKS of the bucket's pki/sa.pub; undefined when it is gone. */
async function jwksIn(ctx: RunContext, s3: S3Client, Bucket: string): Promise<string | undefined> {
  try {
    const got = await s3.send(new GetObjectCommand({ Bucket, Key: PKI_PREFIX + SA_PUBLIC_KEY, ExpectedBucketOwner: ctx.accountId }));
    return jwksOf([(await got.Body?.transformToString('utf8')) ?? '']);
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

/** The JWKS once pki/ is complete: of the sa.pub just written, else read from the bucket. */
const jwksAfter = async (ctx: RunContext, Bucket: string, written: ReadonlyMap<string, string>): Promise<string | undefined> => {
  const pub = written.get(SA_PUBLIC_KEY);
  return pub !== undefined ? jwksOf([pub]) : jwksIn(ctx, await ctx.aws.s3(), Bucket);
};

export const pki: ResourceHandler<'pki', PkiObserved> = {
  calls: {
    observe: [
      'ec2:DescribeVpcs',
      's3:GetBucketLocation',
      's3:GetBucketPublicAccessBlock',
      's3:GetBucketTagging',
      's3:GetObject',
      's3:ListBucket',
      's3:ListBucketVersions',
    ],
    create: ['s3:PutObject'],
    delete: ['s3:DeleteObject', 's3:DeleteObjectVersion'],
  },
  kind: 'pki',
  edges: { waitsFor: ['bucket'] },

  async observe(ctx) {
    // Only the bucket this cluster owns (this region, not another name/environment's), from the
    // pass's one listing of it.
    const listed = await bucketObjects(ctx);
    if (!listed) return [];
    const Bucket = listed.bucket;
    const found = new Set<string>();
    for (const o of listed.objects) if (o.Key?.startsWith(PKI_PREFIX)) found.add(o.Key.slice(PKI_PREFIX.length));
    const keys = [...found].filter((f) => f.startsWith(ENCRYPTION_KEYS_DIR) && f.length > ENCRYPTION_KEYS_DIR.length);
    const files = [...PKI_FILES.filter((f) => found.has(f)), ...keys];
    if (!files.length) return [];
    // The JWKS only where IRSA's discovery documents are made from it, or may have been (cluster-record.ts mayHave).
    const jwks = files.includes(SA_PUBLIC_KEY) && (await mayHave(ctx, 'irsa')) ? await jwksIn(ctx, await ctx.aws.s3(), Bucket) : undefined;
    return [actualOf(Bucket, files, jwks)];
  },

  async create(ctx, node) {
    const written = await uploadMissing(ctx, node.props.bucket, []);
    await uploadMissingKeys(ctx, node.props.bucket, node.props.encryptionKeys, []);
    return actualOf(node.props.bucket, wanted(node.props.encryptionKeys), await jwksAfter(ctx, node.props.bucket, written));
  },

  diff(node, actual) {
    const o = actual.observed;
    const out: Change[] = [];
    if (actual.attrs.bucket !== node.props.bucket) out.push(change('bucket', actual.attrs.bucket, node.props.bucket, false));
    const missing = wanted(node.props.encryptionKeys).filter((f) => !o.files.includes(f));
    if (missing.length) out.push(change('files', `missing ${missing.join(', ')}`, 'all present', true));
    return out;
  },

  async update(ctx, node, actual) {
    const o = actual.observed;
    const written = await uploadMissing(ctx, node.props.bucket, o.files);
    await uploadMissingKeys(ctx, node.props.bucket, node.props.encryptionKeys, o.files);
    // keys the spec no longer names stay (Secrets may still be encrypted with them; README, rotation)
    const files = [...new Set([...wanted(node.props.encryptionKeys), ...o.files])];
    return actualOf(node.props.bucket, files, await jwksAfter(ctx, node.props.bucket, written));
  },

  async delete() {
    // Nothing: pki/ is removed with the bucket, or kept with it beside etcd backups.
  },
};
