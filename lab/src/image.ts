/**
 * A small image the lab makes itself, without any download: one gzipped layer holding a few
 * files, a config and a Docker v2 schema 2 manifest, pushed to a registry with the plain
 * registry API (blob upload POST then PUT with the digest, manifest PUT).
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { gzipSync } from 'node:zlib';

export const MANIFEST_MEDIA_TYPE = 'application/vnd.docker.distribution.manifest.v2+json';
const CONFIG_MEDIA_TYPE = 'application/vnd.docker.container.image.v1+json';
const LAYER_MEDIA_TYPE = 'application/vnd.docker.image.rootfs.diff.tar.gzip';

/** Fixed, so the same files always make the same digests. */
const EPOCH = new Date('2024-01-01T00:00:00Z');

export const DEFAULT_FILES: Readonly<Record<string, string>> = { 'hello.txt': 'hello from the tsrun lab\n' };

export interface Blob {
  mediaType: string;
  digest: string;
  size: number;
  content: Buffer;
}

export interface Image {
  config: Blob;
  layer: Blob;
  manifest: Blob;
}

export interface SeedOptions {
  /** Files of the single layer, path (relative to /) to content; default a /hello.txt. */
  files?: Record<string, string>;
  /** For a registry with htpasswd auth. */
  credentials?: { username: string; password: string };
  /** CA certificate (PEM) an https registry's certificate is checked against. */
  ca?: string | Buffer;
}

export interface SeededImage {
  /** repository:tag as pushed, e.g. library/hello:latest */
  reference: string;
  /** The manifest's digest, as the registry reported it. */
  digest: string;
  image: Image;
  /** Blobs the registry already had and were not sent again. */
  skippedBlobs: number;
}

/** Build the image of these files for this machine's platform (linux and node's arch). */
export function buildImage(files: Record<string, string> = DEFAULT_FILES): Image {
  const tar = tarArchive(files);
  const layer = blob(LAYER_MEDIA_TYPE, gzipSync(tar, { level: 9 }));
  const config = blob(
    CONFIG_MEDIA_TYPE,
    Buffer.from(
      JSON.stringify({
        // containerd checks a single manifest's platform against its own before it unpacks.
        architecture: goArch(process.arch),
        os: 'linux',
        created: EPOCH.toISOString(),
        config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'] },
        rootfs: { type: 'layers', diff_ids: [sha256(tar)] },
        history: [{ created: EPOCH.toISOString(), created_by: 'tsrun lab: buildImage' }],
      }),
    ),
  );
  const manifest = blob(
    MANIFEST_MEDIA_TYPE,
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MANIFEST_MEDIA_TYPE,
        config: descriptor(config),
        layers: [descriptor(layer)],
      }),
    ),
  );
  return { config, layer, manifest };
}

/**
 * Build an image and push it as `repository:tag` (e.g. 'library/hello', 'latest') to the
 * registry at `registryUrl` (http(s)://host:port).
 */
export async function seedImage(registryUrl: string, repository: string, tag: string, options: SeedOptions = {}): Promise<SeededImage> {
  const api = new RegistryApi(registryUrl, options);
  const image = buildImage(options.files);
  let skippedBlobs = 0;
  for (const item of [image.layer, image.config]) {
    if (await api.hasBlob(repository, item.digest)) skippedBlobs++;
    else await api.uploadBlob(repository, item);
  }
  const digest = await api.putManifest(repository, tag, image.manifest);
  return { reference: `${repository}:${tag}`, digest, image, skippedBlobs };
}

// ---------------------------------------------------------------- registry API

interface Response {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

class RegistryApi {
  private readonly base: URL;

  constructor(
    registryUrl: string,
    private readonly options: SeedOptions,
  ) {
    this.base = new URL(registryUrl);
    if (this.base.protocol !== 'http:' && this.base.protocol !== 'https:') {
      throw new Error(`registry URL must be http:// or https://, got '${registryUrl}'`);
    }
  }

  async hasBlob(repository: string, digest: string): Promise<boolean> {
    const response = await this.request('HEAD', `/v2/${repository}/blobs/${digest}`);
    if (response.status === 200) return true;
    if (response.status === 404) return false;
    throw this.failure('HEAD blob', digest, response);
  }

  async uploadBlob(repository: string, item: Blob): Promise<void> {
    const started = await this.request('POST', `/v2/${repository}/blobs/uploads/`);
    const location = started.headers.location;
    if (started.status !== 202 || !location) throw this.failure('start upload of', item.digest, started);
    // The Location carries the upload's state in its query; the digest is added to it.
    const target = new URL(location, this.base);
    target.searchParams.set('digest', item.digest);
    const finished = await this.request('PUT', target.pathname + target.search, item.content, 'application/octet-stream');
    if (finished.status !== 201) throw this.failure('upload', item.digest, finished);
  }

  async putManifest(repository: string, tag: string, manifest: Blob): Promise<string> {
    const response = await this.request('PUT', `/v2/${repository}/manifests/${tag}`, manifest.content, manifest.mediaType);
    if (response.status !== 201) throw this.failure('put manifest', `${repository}:${tag}`, response);
    const digest = response.headers['docker-content-digest'];
    return typeof digest === 'string' ? digest : manifest.digest;
  }

  private failure(what: string, subject: string, response: Response): Error {
    const detail = response.body.trim().slice(0, 500);
    return new Error(`registry ${this.base.origin}: ${what} ${subject} answered HTTP ${response.status}${detail ? `: ${detail}` : ''}`);
  }

  private request(method: string, pathAndQuery: string, body?: Buffer, contentType?: string): Promise<Response> {
    const headers: http.OutgoingHttpHeaders = {};
    if (body) {
      headers['content-type'] = contentType;
      headers['content-length'] = body.length;
    }
    const { credentials } = this.options;
    if (credentials) {
      headers.authorization = `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
    }
    const url = new URL(pathAndQuery, this.base);
    const transport = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const request = transport.request(url, { method, headers, ...(this.options.ca ? { ca: this.options.ca } : {}) }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks).toString('utf8') }));
        response.on('error', reject);
      });
      request.on('error', (error) => reject(new Error(`registry ${this.base.origin}: ${method} ${url.pathname}: ${error.message}`)));
      request.end(body);
    });
  }
}

// ---------------------------------------------------------------- image parts

function blob(mediaType: string, content: Buffer): Blob {
  return { mediaType, digest: sha256(content), size: content.length, content };
}

function descriptor(item: Blob): { mediaType: string; digest: string; size: number } {
  return { mediaType: item.mediaType, digest: item.digest, size: item.size };
}

function sha256(content: Buffer): string {
  return `sha256:${createHash('sha256').update(content).digest('hex')}`;
}

/** Go's GOARCH for node's process.arch, as image configs name architectures. */
function goArch(arch: string): string {
  const names: Record<string, string> = { x64: 'amd64', ia32: '386', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x' };
  return names[arch] ?? arch;
}

/**
 * A POSIX ustar archive of regular files (mode 0644, root-owned), each parent directory
 * listed before its files, as image layers are.
 */
export function tarArchive(files: Record<string, string>): Buffer {
  const entries: Buffer[] = [];
  const seenDirs = new Set<string>();
  for (const [name, text] of Object.entries(files).sort(([a], [b]) => a.localeCompare(b))) {
    const relative = name.replace(/^\/+/, '');
    if (relative === '' || relative.split('/').some((part) => part === '' || part === '.' || part === '..')) {
      throw new Error(`image file path must be a plain relative path, got '${name}'`);
    }
    const parts = relative.split('/');
    for (let depth = 1; depth < parts.length; depth++) {
      const dir = `${parts.slice(0, depth).join('/')}/`;
      if (seenDirs.has(dir)) continue;
      seenDirs.add(dir);
      entries.push(tarHeader(dir, 0, 0o755, '5'));
    }
    const content = Buffer.from(text, 'utf8');
    entries.push(tarHeader(relative, content.length, 0o644, '0'), content, Buffer.alloc(padding(content.length)));
  }
  // Two zero blocks end the archive.
  entries.push(Buffer.alloc(1024));
  return Buffer.concat(entries);
}

function tarHeader(name: string, size: number, mode: number, type: '0' | '5'): Buffer {
  if (Buffer.byteLength(name) > 100) throw new Error(`image file path longer than 100 bytes: '${name}'`);
  const header = Buffer.alloc(512);
  const octal = (value: number, width: number) => value.toString(8).padStart(width - 1, '0') + '\0';
  header.write(name, 0, 100, 'utf8');
  header.write(octal(mode, 8), 100, 8, 'ascii');
  header.write(octal(0, 8), 108, 8, 'ascii'); // uid
  header.write(octal(0, 8), 116, 8, 'ascii'); // gid
  header.write(octal(size, 12), 124, 12, 'ascii');
  header.write(octal(Math.floor(EPOCH.getTime() / 1000), 12), 136, 12, 'ascii');
  header.write(type, 156, 1, 'ascii');
  header.write('ustar\0', 257, 6, 'ascii');
  header.write('00', 263, 2, 'ascii');
  header.write('root', 265, 32, 'ascii');
  header.write('root', 297, 32, 'ascii');
  // The checksum is computed with its own field read as eight spaces.
  header.fill(' ', 148, 156);
  const checksum = header.reduce((sum, byte) => sum + byte, 0);
  header.write(`${checksum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'ascii');
  return header;
}

const padding = (size: number) => (512 - (size % 512)) % 512;
