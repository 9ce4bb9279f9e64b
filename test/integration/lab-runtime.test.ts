/**
 * The lab's container runtime, for real: containerd inside two worker hosts, an upstream
 * registry on the bridge gateway seeded with an image the lab builds itself, and a pull that
 * goes where the worker's hosts.toml says (and nowhere else: the workers have no internet).
 * Then a second registry as a pull-through mirror of the upstream.
 *
 * Own hosts (prefix, subnet and stateDir), so it neither depends on nor disturbs the shared ones.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, readlinkSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { CERTS_DIR, CONTAINERD_SOCKET, startContainerd, stopContainerd, type RunningContainerd } from '../../lab/src/containerd.js';
import { residentKiB } from '../../lab/src/processes.js';
import { buildImage, MANIFEST_MEDIA_TYPE, seedImage, type SeededImage } from '../../lab/src/image.js';
import { startRegistry, stopRegistry, type RunningRegistry } from '../../lab/src/registry.js';
import { startTestHosts, stopTestHosts, type TestHost, type TestHosts } from '../../lab/src/testhosts.js';
import { command } from '../../src/transport/quote.js';
import { SshTransport } from '../../src/transport/ssh.js';
import { TEST_HOSTS_DIR } from '../harness/hosts.js';

const STATE_DIR = `${TEST_HOSTS_DIR}-lab-runtime`;
const PREFIX = 'tsrt';
const SUBNET = '10.213.20.0/24';
const GATEWAY = '10.213.20.1';
const UPSTREAM = `${GATEWAY}:5000`;
const MIRROR = `${GATEWAY}:5001`;
const TLS_REGISTRY = `${GATEWAY}:5002`;
const IMAGE = 'docker.io/library/hello:latest';

const ctr = (...args: string[]) => command('ctr', '--address', CONTAINERD_SOCKET, ...args);
const pull = ctr('images', 'pull', '--hosts-dir', CERTS_DIR, IMAGE);

/** A docker.io hosts.toml sending pulls and resolves to `mirror` over plain HTTP. */
const hostsToml = (server: string, mirror: string) => [`server = "${server}"`, '', `[host."${mirror}"]`, '  capabilities = ["pull", "resolve"]', ''].join('\n');

function run(file: string, args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  return new Promise((resolve) => {
    execFile(file, args, (error, stdout, stderr) => {
      resolve({ stdout, stderr, code: error ? (typeof error.code === 'number' ? error.code : 1) : 0 });
    });
  });
}

let hosts: TestHosts;
let workers: [TestHost, TestHost];
const ssh = new Map<string, SshTransport>();
const containerds: RunningContainerd[] = [];
let upstream: RunningRegistry;
let seeded: SeededImage;
let seedMs: number;

async function on(host: TestHost, script: string, stdin?: string) {
  return ssh.get(host.name)!.exec(script, stdin === undefined ? {} : { stdin });
}

beforeAll(async () => {
  hosts = await startTestHosts({ count: 2, stateDir: STATE_DIR, prefix: PREFIX, subnet: SUBNET });
  workers = [hosts.hosts[0]!, hosts.hosts[1]!];
  for (const host of workers) {
    containerds.push(await startContainerd(host, STATE_DIR));
    ssh.set(
      host.name,
      await SshTransport.connect({
        host: host.address,
        port: 22,
        user: 'root',
        privateKeyFile: hosts.keyFile,
        hostKeyChecking: 'strict',
        knownHostsFile: hosts.knownHostsFile,
      }),
    );
  }
  upstream = await startRegistry({ stateDir: path.join(STATE_DIR, 'upstream'), listen: UPSTREAM });
  const started = Date.now();
  seeded = await seedImage(upstream.url, 'library/hello', 'latest');
  seedMs = Date.now() - started;
  // Measurements for the lab's notes, not assertions.
  console.log(
    [
      ...containerds.map((c) => `containerd on ${c.host}: up in ${c.startMs} ms, ${Math.round(residentKiB(c.pid) / 1024)} MiB resident`),
      `seeding ${seeded.reference}: ${seedMs} ms`,
    ].join('\n'),
  );
}, 120_000);

afterAll(async () => {
  console.log(containerds.map((c) => `containerd on ${c.host} after the pulls: ${Math.round(residentKiB(c.pid) / 1024)} MiB resident`).join('\n'));
  await Promise.all([...ssh.values()].map((transport) => transport.close()));
  for (const host of workers ?? []) await stopContainerd(host, STATE_DIR);
  await stopRegistry(path.join(STATE_DIR, 'mirror'));
  await stopRegistry(path.join(STATE_DIR, 'tls'));
  await stopRegistry(path.join(STATE_DIR, 'upstream'));
  await stopTestHosts(STATE_DIR);
  await rm(STATE_DIR, { recursive: true, force: true });
}, 60_000);

describe('containerd on the workers', () => {
  test('runs in each worker own mount and network namespaces, with a config whose CRI registry reads certs.d', async () => {
    const namespaces = (pid: number) => ['mnt', 'net'].map((kind) => readlinkSync(`/proc/${pid}/ns/${kind}`));
    for (const [index, host] of workers.entries()) {
      expect(namespaces(containerds[index]!.pid)).toEqual(namespaces(host.sshdPid));
      const config = await on(host, 'cat /etc/containerd/config.toml');
      expect(config.stdout).toContain('[plugins."io.containerd.grpc.v1.cri".registry]');
      expect(config.stdout).toContain(`config_path = "${CERTS_DIR}"`);
      const version = await on(host, ctr('version'));
      expect(version.stderr).toBe('');
      expect(version.stdout).toMatch(/Server:\s+Version:\s+1\.6\./);
    }
    expect(namespaces(containerds[0]!.pid)).not.toEqual(namespaces(containerds[1]!.pid));
    expect(namespaces(containerds[0]!.pid)).not.toEqual(namespaces(process.pid));
  });

  test('starting again returns the containerd already running', async () => {
    const again = await startContainerd(workers[0], STATE_DIR);
    expect(again.pid).toBe(containerds[0]!.pid);
  });
});

describe('the upstream registry seeded with the lab image', () => {
  test('serves the manifest that was built, by tag and by digest', async () => {
    const response = await fetch(`${upstream.url}/v2/library/hello/manifests/latest`, { headers: { accept: MANIFEST_MEDIA_TYPE } });
    expect(response.status).toBe(200);
    expect(response.headers.get('docker-content-digest')).toBe(seeded.digest);
    expect(Buffer.from(await response.arrayBuffer())).toEqual(seeded.image.manifest.content);
    expect(seeded.digest).toBe(seeded.image.manifest.digest);
  });

  test('the image is the same every time, and seeding again sends no blob twice', async () => {
    expect(buildImage().manifest.digest).toBe(seeded.digest);
    const again = await seedImage(upstream.url, 'library/hello', 'latest');
    expect(again.digest).toBe(seeded.digest);
    expect(again.skippedBlobs).toBe(2);
  });

  test('a push the registry refuses fails naming the registry and the status', async () => {
    await expect(seedImage(upstream.url, 'Not/Valid', 'latest')).rejects.toThrow(/registry http:\/\/10\.213\.20\.1:5000: .*HTTP 404/);
  });
});

describe('a pull follows the worker hosts.toml', () => {
  test('with a hosts.toml naming the upstream, worker 1 pulls and unpacks the image from it', async () => {
    const [worker] = workers;
    const toml = hostsToml(`http://${UPSTREAM}`, `http://${UPSTREAM}`);
    const written = await on(worker, `mkdir -p ${CERTS_DIR}/docker.io && cat > ${CERTS_DIR}/docker.io/hosts.toml`, toml);
    expect(written.code).toBe(0);

    const pulled = await on(worker, pull);
    // ctr may log progress noise on stderr ("active check failed: context canceled"); the exit status is what counts.
    expect({ code: pulled.code, stderr: pulled.code === 0 ? '' : pulled.stderr }).toEqual({ code: 0, stderr: '' });
    expect((await on(worker, ctr('images', 'ls', '-q'))).stdout.split('\n')).toContain(IMAGE);
    // The layer really was unpacked: the image's file is there.
    const mounted = await on(
      worker,
      `mkdir -p /tmp/hello && ${ctr('images', 'mount', IMAGE, '/tmp/hello')} >/dev/null && cat /tmp/hello/hello.txt; ${ctr('images', 'unmount', '/tmp/hello')} >/dev/null`,
    );
    expect(mounted.stdout).toBe('hello from the tsrun lab\n');
    expect(readFileSync(upstream.logFile, 'utf8')).toContain(`http.request.remoteaddr="${worker.address}:`);
  });

  test('without a hosts.toml, worker 2 goes to Docker Hub, which it cannot reach, and has no image', async () => {
    const [, worker] = workers;
    expect((await on(worker, `test -e ${CERTS_DIR}/docker.io/hosts.toml`)).code).not.toBe(0);
    const pulled = await on(worker, pull);
    expect(pulled.code).not.toBe(0);
    expect(pulled.stderr).toContain('registry-1.docker.io');
    expect((await on(worker, ctr('images', 'ls', '-q'))).stdout).not.toContain(IMAGE);
  });
});

describe('a pull-through mirror of the upstream', () => {
  test('a pull through the mirror succeeds and leaves library/hello in its storage', async () => {
    const mirror = await startRegistry({ stateDir: path.join(STATE_DIR, 'mirror'), listen: MIRROR, proxyRemoteUrl: upstream.url });
    const repository = path.join(mirror.storageDir, 'docker/registry/v2/repositories/library/hello');
    expect(existsSync(repository)).toBe(false);

    const [, worker] = workers;
    // As on a real node: Docker Hub stays the server, the mirror is the host tried first.
    const toml = hostsToml('https://registry-1.docker.io', `http://${MIRROR}`);
    await on(worker, `mkdir -p ${CERTS_DIR}/docker.io && cat > ${CERTS_DIR}/docker.io/hosts.toml`, toml);
    const pulled = await on(worker, pull);
    // ctr may log progress noise on stderr ("active check failed: context canceled"); the exit status is what counts.
    expect({ code: pulled.code, stderr: pulled.code === 0 ? '' : pulled.stderr }).toEqual({ code: 0, stderr: '' });
    expect((await on(worker, ctr('images', 'ls', '-q'))).stdout.split('\n')).toContain(IMAGE);
    expect(existsSync(repository)).toBe(true);
    expect(readFileSync(mirror.logFile, 'utf8')).toContain(`http.request.remoteaddr="${worker.address}:`);
  });
});

describe('a registry over TLS', () => {
  test('with a self-signed certificate for its address: seeding trusts only that certificate, and a worker pulls with it as hosts.toml ca', async () => {
    const dir = path.join(STATE_DIR, 'tls');
    await mkdir(dir, { recursive: true });
    const certificate = path.join(dir, 'registry.crt');
    const key = path.join(dir, 'registry.key');
    const made = await run('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=tsrun lab registry',
      '-addext',
      `subjectAltName=IP:${GATEWAY}`,
      '-keyout',
      key,
      '-out',
      certificate,
    ]);
    expect(made.code).toBe(0);
    const registry = await startRegistry({ stateDir: dir, listen: TLS_REGISTRY, tls: { certificate, key } });
    expect(registry.url).toBe(`https://${TLS_REGISTRY}`);

    await expect(seedImage(registry.url, 'library/hello', 'latest')).rejects.toThrow(/self[- ]signed certificate/);
    const pem = readFileSync(certificate, 'utf8');
    const pushed = await seedImage(registry.url, 'library/hello', 'latest', { ca: pem });
    expect(pushed.digest).toBe(seeded.digest);

    const [worker] = workers;
    const hostDir = `${CERTS_DIR}/${TLS_REGISTRY}`;
    const toml = [
      `server = "https://${TLS_REGISTRY}"`,
      '',
      `[host."https://${TLS_REGISTRY}"]`,
      '  capabilities = ["pull", "resolve"]',
      `  ca = "${hostDir}/ca.crt"`,
      '',
    ].join('\n');
    await on(worker, `mkdir -p ${command(hostDir)} && cat > ${command(`${hostDir}/ca.crt`)}`, pem);
    await on(worker, `cat > ${command(`${hostDir}/hosts.toml`)}`, toml);
    const pulled = await on(worker, ctr('images', 'pull', '--hosts-dir', CERTS_DIR, `${TLS_REGISTRY}/library/hello:latest`));
    expect({ code: pulled.code, stderr: pulled.code === 0 ? '' : pulled.stderr }).toEqual({ code: 0, stderr: '' });
  });
});
