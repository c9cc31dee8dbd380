import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { Readable } from "node:stream";
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  type S3ClientConfig,
} from "@aws-sdk/client-s3";
import { InvalidParameterError, NotFoundError, PolarityError } from "../util/errors.js";
import { ArtifactTooLargeError, assertArtifactFilePath, assertSafeArtifactPath, type ArtifactStore } from "./artifact-store.js";
import type { FileInfo } from "./types.js";

/**
 * The proxied artifact store on S3 or an S3-compatible server (MinIO, s3rver):
 * `--artifacts-destination s3://bucket/prefix`, configured like MLflow's through the usual AWS
 * variables (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION) plus
 * MLFLOW_S3_ENDPOINT_URL (or AWS_ENDPOINT_URL_S3) for a non-AWS endpoint, which also switches
 * to path-style addressing. Paths are checked exactly as for the local store.
 *
 * Uploads stream through a multipart upload in PART_BYTES parts — memory per upload is one
 * part, whatever the file size — and become visible only when the upload completes: a client
 * that disconnects, a size cap that trips or an S3 error aborts the upload, leaving no
 * partial object. Downloads stream the object's body. Listing pages through ListObjects by marker.
 */
export const PART_BYTES = 8 * 1024 * 1024;

export interface S3ArtifactStoreOptions {
  endpoint?: string;
  region?: string;
  forcePathStyle?: boolean;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Largest file one upload may write, in bytes. */
  maxFileBytes?: number;
  /** Keys per listing page (S3's maximum, 1000, by default). */
  pageSize?: number;
}

export function parseS3Uri(uri: string): { bucket: string; prefix: string } {
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(uri);
  if (!m) throw new InvalidParameterError(`Invalid S3 artifact destination '${uri}': expected s3://bucket[/prefix]`);
  const prefix = (m[2] ?? "").replace(/\/+$/, "");
  if (prefix) assertSafeArtifactPath(prefix);
  return { bucket: m[1], prefix };
}

/** Options from the environment, as MLflow's S3 artifact repository reads them. */
export function s3OptionsFromEnv(env: NodeJS.ProcessEnv = process.env): S3ArtifactStoreOptions {
  const endpoint = env.MLFLOW_S3_ENDPOINT_URL || env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || undefined;
  const key = env.AWS_ACCESS_KEY_ID;
  const secret = env.AWS_SECRET_ACCESS_KEY;
  return {
    endpoint,
    region: env.AWS_REGION || env.AWS_DEFAULT_REGION || "us-east-1",
    forcePathStyle: endpoint !== undefined || env.AWS_S3_FORCE_PATH_STYLE === "true",
    credentials: key && secret ? { accessKeyId: key, secretAccessKey: secret, sessionToken: env.AWS_SESSION_TOKEN } : undefined,
  };
}

function lastKey(res: { Contents?: Array<{ Key?: string }>; CommonPrefixes?: Array<{ Prefix?: string }> }): string | undefined {
  const keys = [...(res.Contents ?? []).map((o) => o.Key), ...(res.CommonPrefixes ?? []).map((p) => p.Prefix)].filter((k): k is string => !!k).sort();
  return keys[keys.length - 1];
}

export class S3ArtifactStore implements ArtifactStore {
  readonly root: string;
  readonly maxFileBytes?: number;
  private readonly pageSize: number;
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;

  constructor(uri: string, options: S3ArtifactStoreOptions = s3OptionsFromEnv()) {
    const { bucket, prefix } = parseS3Uri(uri);
    this.bucket = bucket;
    this.prefix = prefix;
    this.root = `s3://${bucket}${prefix ? `/${prefix}` : ""}`;
    this.maxFileBytes = options.maxFileBytes;
    this.pageSize = options.pageSize ?? 1000;
    const cfg: S3ClientConfig = {
      region: options.region ?? "us-east-1",
      // Plain payload signing: S3-compatible servers store aws-chunked trailers verbatim otherwise.
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
      maxAttempts: 3,
    };
    if (options.endpoint) cfg.endpoint = options.endpoint;
    if (options.forcePathStyle) cfg.forcePathStyle = true;
    if (options.credentials) cfg.credentials = options.credentials;
    this.client = new S3Client(cfg);
  }

  private key(relPath: string): string {
    const clean = assertSafeArtifactPath(relPath);
    return [this.prefix, clean].filter(Boolean).join("/");
  }

  /** S3 failures in MLflow's error shape: not-found → 404, unreachable/5xx → 503 retryable, else 500 without internals. */
  private fail(err: unknown, what: string): PolarityError {
    if (err instanceof PolarityError) return err;
    const e = err as { name?: string; code?: string; $metadata?: { httpStatusCode?: number } };
    const status = e.$metadata?.httpStatusCode;
    if (e.name === "NoSuchKey" || e.name === "NotFound" || status === 404) return new NotFoundError(`Artifact '${what}' not found`);
    if (e.name === "NoSuchBucket") return new PolarityError("INTERNAL_ERROR", `The artifact store ${this.root} does not exist`);
    const network = ["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "ENOTFOUND", "EAI_AGAIN", "EPIPE"].includes(e.code ?? "") || e.name === "TimeoutError";
    if (network || (status !== undefined && status >= 500))
      return new PolarityError("TEMPORARILY_UNAVAILABLE", `The artifact store ${this.root} is unavailable; retry later`, { cause: err });
    return new PolarityError("INTERNAL_ERROR", `The artifact store ${this.root} refused the request for '${what}' (${e.name ?? "error"})`);
  }

  /** Entries directly under `relDir` (every page of the listing), paths prefixed with `prefix`. */
  async list(relDir: string, prefix = relDir): Promise<FileInfo[]> {
    const base = this.key(relDir);
    const keyPrefix = base ? `${base}/` : "";
    const out: FileInfo[] = [];
    // ListObjects (v1) pages by marker: every S3-compatible server implements it the same way,
    // where v2 continuation tokens are opaque per server (s3rver's need a cipher OpenSSL 3 dropped).
    let marker: string | undefined;
    try {
      do {
        const res = await this.client.send(
          new ListObjectsCommand({ Bucket: this.bucket, Prefix: keyPrefix, Delimiter: "/", MaxKeys: this.pageSize, Marker: marker }),
        );
        for (const p of res.CommonPrefixes ?? []) {
          const name = p.Prefix!.slice(keyPrefix.length).replace(/\/$/, "");
          if (name) out.push({ path: prefix ? `${prefix}/${name}` : name, is_dir: true });
        }
        for (const o of res.Contents ?? []) {
          const name = o.Key!.slice(keyPrefix.length);
          if (name) out.push({ path: prefix ? `${prefix}/${name}` : name, is_dir: false, file_size: o.Size ?? 0 });
        }
        marker = res.IsTruncated ? (res.NextMarker ?? lastKey(res)) : undefined;
      } while (marker);
    } catch (err) {
      throw this.fail(err, relDir);
    }
    return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  /** Streams `body` into the object through a multipart upload (see the class comment). */
  async write(relPath: string, body: Readable | Buffer): Promise<void> {
    const clean = assertArtifactFilePath(relPath, "write to");
    const Key = this.key(clean);
    if (await this.isDirectory(clean)) throw new InvalidParameterError(`Invalid path '${clean}': it is a directory`);
    const cap = this.maxFileBytes;
    if (Buffer.isBuffer(body)) {
      if (cap !== undefined && body.length > cap) throw new ArtifactTooLargeError(cap);
      if (body.length <= PART_BYTES) {
        try {
          await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key, Body: body, ContentLength: body.length }));
        } catch (err) {
          throw this.fail(err, clean);
        }
        return;
      }
      body = Readable.from([body]);
    }
    let uploadId: string | undefined;
    try {
      uploadId = (await this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key }))).UploadId;
      const parts: Array<{ ETag: string; PartNumber: number }> = [];
      let pending: Buffer[] = [];
      let pendingBytes = 0;
      let total = 0;
      const flush = async () => {
        const chunk = Buffer.concat(pending, pendingBytes);
        pending = [];
        pendingBytes = 0;
        const PartNumber = parts.length + 1;
        const res = await this.client.send(
          new UploadPartCommand({ Bucket: this.bucket, Key, UploadId: uploadId, PartNumber, Body: chunk, ContentLength: chunk.length }),
        );
        parts.push({ ETag: res.ETag!, PartNumber });
      };
      for await (const piece of body as Readable) {
        const buf = Buffer.isBuffer(piece) ? piece : Buffer.from(piece as Uint8Array);
        total += buf.length;
        if (cap !== undefined && total > cap) throw new ArtifactTooLargeError(cap);
        pending.push(buf);
        pendingBytes += buf.length;
        if (pendingBytes >= PART_BYTES) await flush();
      }
      if (pendingBytes > 0 || parts.length === 0) await flush();
      await this.client.send(new CompleteMultipartUploadCommand({ Bucket: this.bucket, Key, UploadId: uploadId, MultipartUpload: { Parts: parts } }));
    } catch (err) {
      if (uploadId) await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key, UploadId: uploadId })).catch(() => {});
      throw this.fail(err, clean);
    }
  }

  async copyIn(localFile: string, relPath: string): Promise<void> {
    const { size } = await stat(localFile);
    if (this.maxFileBytes !== undefined && size > this.maxFileBytes) throw new ArtifactTooLargeError(this.maxFileBytes);
    await this.write(relPath, createReadStream(localFile));
  }

  async openRead(relPath: string): Promise<{ stream: Readable; size: number }> {
    const clean = assertSafeArtifactPath(relPath);
    try {
      const res = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.key(clean) }));
      return { stream: res.Body as Readable, size: Number(res.ContentLength ?? 0) };
    } catch (err) {
      throw this.fail(err, clean);
    }
  }

  async isDirectory(relPath: string): Promise<boolean> {
    const base = this.key(relPath);
    try {
      const res = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: base ? `${base}/` : "", MaxKeys: 1 }));
      return (res.KeyCount ?? res.Contents?.length ?? 0) > 0;
    } catch (err) {
      throw this.fail(err, relPath);
    }
  }

  /** Deletes one object, or every object under a directory; the root itself is refused. */
  async delete(relPath: string): Promise<void> {
    const clean = assertArtifactFilePath(relPath, "delete");
    const Key = this.key(clean);
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key })).catch(() => undefined);
      const keys: string[] = head ? [Key] : [];
      let marker: string | undefined;
      do {
        const res = await this.client.send(new ListObjectsCommand({ Bucket: this.bucket, Prefix: `${Key}/`, MaxKeys: this.pageSize, Marker: marker }));
        for (const o of res.Contents ?? []) keys.push(o.Key!);
        marker = res.IsTruncated ? lastKey(res) : undefined;
      } while (marker);
      if (keys.length === 0) throw new NotFoundError(`Artifact '${clean}' not found`);
      for (let i = 0; i < keys.length; i += 1000) {
        await this.client.send(
          new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: keys.slice(i, i + 1000).map((k) => ({ Key: k })), Quiet: true } }),
        );
      }
    } catch (err) {
      throw this.fail(err, clean);
    }
  }
}
