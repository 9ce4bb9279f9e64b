/**
 * A real Kubernetes control plane on this machine for the homelab lab: etcd, kube-apiserver,
 * kube-controller-manager and kube-scheduler, built from the Go module proxy by
 * lab/k8s/build.sh, plus kwok, which keeps the worker Node objects Ready and moves their
 * pods to Running/Ready (there is no kubelet: kwok fakes what one would report).
 *
 * Everything lives in `stateDir`: the PKI (made with openssl), kubeconfigs, etcd's data,
 * logs, and `state.json`, which names every process before it runs, so
 * `stopControlPlane` can clean up after a crash. The processes run in the root network
 * namespace; the apiserver listens on `bindAddress` (a bridge gateway lets hosts on that
 * bridge reach it), everything else on 127.0.0.1 only.
 */
import { execFile, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { access, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import https from 'node:https';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
// The product as built: the lab is a project of its own (lab/tsconfig.json) that uses its output.
import { command } from '../../dist/transport/quote.js';
import { exists, isAlive, killAndWait, readFileOr, residentKiB } from './processes.js';

const VERSIONS_FILE = fileURLToPath(new URL('../../lab/k8s/versions.env', import.meta.url));
const CACHE_ROOT = process.env.TSRUN_K8S_CACHE ?? '/var/cache/tsrun/k8s';

export const DEFAULT_SECURE_PORT = 6443;
export const SERVICE_CLUSTER_IP_RANGE = '10.96.0.0/16';
/** The first address of the service range: the in-cluster `kubernetes` Service. */
const KUBERNETES_SERVICE_IP = '10.96.0.1';
/** kwok hands pod IPs out of this range and reports it as every fake node's address. */
export const POD_CIDR = '10.244.0.0/16';
const FAKE_NODE_IP = '10.244.0.1';
/** The annotation that puts a Node in kwok's hands (as kwok's documentation uses it). */
export const KWOK_NODE_ANNOTATION = { key: 'kwok.x-k8s.io/node', value: 'fake' } as const;

const START_TIMEOUT_MS = 120_000;
const STOP_TIMEOUT_MS = 10_000;

export const COMPONENTS = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kwok'] as const;
export type Component = (typeof COMPONENTS)[number];

const PortsSchema = z.object({
  etcdClient: z.number().int().positive(),
  etcdPeer: z.number().int().positive(),
  apiserver: z.number().int().positive(),
  controllerManager: z.number().int().positive(),
  scheduler: z.number().int().positive(),
  kwok: z.number().int().positive(),
});

const StateSchema = z.object({
  stateDir: z.string(),
  bindAddress: z.string(),
  binDir: z.string(),
  ports: PortsSchema,
  /** 0 while a component has not been started. */
  pids: z.record(z.enum(COMPONENTS), z.number().int().nonnegative()),
});
type State = z.infer<typeof StateSchema>;

export interface ControlPlaneOptions {
  /** Where PKI, kubeconfigs, etcd data, logs and the state live; not under /tmp. */
  stateDir: string;
  /** The address the apiserver listens on and its serving certificate names. */
  bindAddress: string;
  /** Holds etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok. */
  binDir?: string;
  /** The apiserver's port (default 6443). */
  securePort?: number;
}

export interface ControlPlane {
  /** An admin kubeconfig (client certificate in group system:masters), certificates inline. */
  kubeconfig: string;
  /** https://bindAddress:port */
  server: string;
  pids: Record<Component, number>;
}

export interface ComponentStatus {
  component: Component;
  pid: number;
  up: boolean;
  /** Resident memory in KiB, 0 when not running. */
  rssKiB: number;
}

/** The pinned versions from lab/k8s/versions.env (K8S_VERSION, ETCD_VERSION, KWOK_VERSION). */
export function pinnedVersions(): Record<string, string> {
  const versions: Record<string, string> = {};
  for (const line of readFileSync(VERSIONS_FILE, 'utf8').split('\n')) {
    const [, key, value] = /^([A-Z0-9_]+)=(\S+)$/.exec(line.trim()) ?? [];
    if (key && value) versions[key] = value;
  }
  return versions;
}

/** Where lab/k8s/build.sh puts the binaries of the pinned Kubernetes version. */
export function defaultBinDir(): string {
  const version = pinnedVersions().K8S_VERSION;
  if (!version) throw new Error(`no K8S_VERSION in ${VERSIONS_FILE}`);
  return path.join(CACHE_ROOT, version, 'bin');
}

/** The kubectl to drive the control plane with: the system one, else one built beside the rest. */
export async function kubectlPath(binDir = defaultBinDir()): Promise<string> {
  for (const dir of (process.env.PATH ?? '').split(':').filter(Boolean)) {
    if (await isExecutable(path.join(dir, 'kubectl'))) return path.join(dir, 'kubectl');
  }
  return path.join(binDir, 'kubectl');
}

/**
 * Start the control plane (or return the one already running in stateDir) and wait until
 * the apiserver is ready and the controllers, scheduler and kwok are healthy. A stateDir
 * whose processes died part-way is restarted on its etcd data.
 */
export async function startControlPlane(options: ControlPlaneOptions): Promise<ControlPlane> {
  const stateDir = path.resolve(options.stateDir);
  const binDir = path.resolve(options.binDir ?? defaultBinDir());
  validateOptions(stateDir, options.bindAddress);
  await assertBinaries(binDir);

  const existing = readState(stateDir);
  if (existing) {
    const port = options.securePort ?? existing.ports.apiserver;
    const same = existing.bindAddress === options.bindAddress && existing.binDir === binDir && existing.ports.apiserver === port;
    if (same && COMPONENTS.every((component) => isOurs(existing, component))) {
      await waitUntilHealthy(existing);
      return describe(existing);
    }
    await stopControlPlane(stateDir);
  }

  const state: State = {
    stateDir,
    bindAddress: options.bindAddress,
    binDir,
    ports: await choosePorts(options.bindAddress, options.securePort ?? existing?.ports.apiserver ?? DEFAULT_SECURE_PORT),
    pids: { etcd: 0, 'kube-apiserver': 0, 'kube-controller-manager': 0, 'kube-scheduler': 0, kwok: 0 },
  };
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  await mkdir(logDir(stateDir), { recursive: true });
  // Written before anything runs, so a crash part-way can still be cleaned up.
  await writeState(state);
  try {
    await writePki(state);
    await writeKubeconfigs(state);
    await startComponent(state, 'etcd');
    await waitFor(state, 'etcd', () => httpOk(`http://127.0.0.1:${state.ports.etcdClient}/health`));
    await startComponent(state, 'kube-apiserver');
    await waitFor(state, 'kube-apiserver', () => apiserverReady(state));
    // The controller manager gives up when the apiserver is not healthy within seconds.
    for (const component of ['kube-controller-manager', 'kube-scheduler', 'kwok'] as const) await startComponent(state, component);
    await waitUntilHealthy(state);
  } catch (error) {
    const logs = COMPONENTS.map((component) => logFile(stateDir, component)).join(' ');
    await stopControlPlane(stateDir).catch(() => undefined);
    throw new Error(`${error instanceof Error ? error.message : String(error)} (logs: ${logs})`);
  }
  return describe(state);
}

/**
 * Stop the processes of a stateDir, newest first, and forget them. Works after a crash (it
 * needs only the state file); a second call is a no-op. PKI, kubeconfigs, etcd data and
 * logs stay, so the next start resumes the same cluster.
 */
export async function stopControlPlane(stateDirInput: string): Promise<void> {
  const stateDir = path.resolve(stateDirInput);
  const state = readState(stateDir);
  if (!state) return;
  // kwok and the controllers first: they would log errors while the apiserver goes away.
  for (const component of [...COMPONENTS].reverse()) {
    if (isOurs(state, component)) await killAndWait(state.pids[component], STOP_TIMEOUT_MS);
  }
  await rm(stateFile(stateDir), { force: true });
}

/** Each component and whether it runs; undefined when no control plane was started there. */
export function controlPlaneStatus(stateDirInput: string): ComponentStatus[] | undefined {
  const state = readState(path.resolve(stateDirInput));
  if (!state) return undefined;
  return COMPONENTS.map((component) => {
    const up = isOurs(state, component);
    return { component, pid: state.pids[component], up, rssKiB: up ? residentKiB(state.pids[component]) : 0 };
  });
}

// ---------------------------------------------------------------- options and binaries

function validateOptions(stateDir: string, bindAddress: string): void {
  if (stateDir === '/tmp' || stateDir.startsWith('/tmp/')) {
    // Test hosts give every host a private /tmp; state there would not be where it is sought.
    throw new Error(`the state directory must not be under /tmp: ${stateDir}`);
  }
  if (net.isIPv4(bindAddress) === false) throw new Error(`bind address must be an IPv4 address, got '${bindAddress}'`);
}

async function assertBinaries(binDir: string): Promise<void> {
  const missing: string[] = [];
  for (const component of COMPONENTS) {
    if (!(await isExecutable(path.join(binDir, component)))) missing.push(component);
  }
  if (missing.length > 0) {
    throw new Error(`${missing.join(', ')} not found in ${binDir}: build them with lab/k8s/build.sh (the first build takes a while)`);
  }
}

async function isExecutable(file: string): Promise<boolean> {
  try {
    await access(file, 1 /* X_OK */);
    return true;
  } catch {
    return false;
  }
}

/** Free ports for everything but the apiserver, whose port is asked for and checked. */
async function choosePorts(bindAddress: string, apiserver: number): Promise<State['ports']> {
  if (!(await portIsFree(bindAddress, apiserver))) {
    throw new Error(`port ${apiserver} on ${bindAddress} is in use: stop what listens there or choose another port`);
  }
  const taken = new Set([apiserver]);
  const nextPort = async (): Promise<number> => {
    for (;;) {
      const port = await freePort();
      if (taken.has(port)) continue;
      taken.add(port);
      return port;
    }
  };
  // One at a time, in this order: each must differ from those already taken.
  const etcdClient = await nextPort();
  const etcdPeer = await nextPort();
  const controllerManager = await nextPort();
  const scheduler = await nextPort();
  const kwok = await nextPort();
  return { etcdClient, etcdPeer, apiserver, controllerManager, scheduler, kwok };
}

/** A TCP port on 127.0.0.1 nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function portIsFree(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, address, () => server.close(() => resolve(true)));
  });
}

// ---------------------------------------------------------------- PKI and kubeconfigs

const pkiDir = (stateDir: string) => path.join(stateDir, 'pki');

/** The client identities: the admin, and one per component RBAC already knows by name. */
const CLIENTS = {
  admin: '/O=system:masters/CN=kubernetes-admin',
  'controller-manager': '/CN=system:kube-controller-manager',
  scheduler: '/CN=system:kube-scheduler',
  // kwok writes the status of nodes and pods, as a kubelet would for all of them.
  kwok: '/O=system:masters/CN=kwok',
} as const;
type Client = keyof typeof CLIENTS;

/**
 * The CA, the service-account key pair and the client certificates are made once per
 * stateDir (tokens and kubeconfigs handed out stay valid across restarts); the serving
 * certificate is made at every start, for the address given this time.
 */
async function writePki(state: State): Promise<void> {
  const dir = pkiDir(state.stateDir);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const file = (name: string) => path.join(dir, name);
  if (!(await exists(file('ca.crt')))) {
    await openssl([
      'req',
      '-x509',
      '-new',
      '-nodes',
      ...EC_KEY,
      '-keyout',
      file('ca.key'),
      '-out',
      file('ca.crt'),
      '-days',
      '3650',
      '-subj',
      '/CN=tsrun-lab-kubernetes-ca',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign,digitalSignature',
    ]);
    await openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', file('sa.key')]);
    await openssl(['pkey', '-in', file('sa.key'), '-pubout', '-out', file('sa.pub')]);
    for (const [client, subject] of Object.entries(CLIENTS)) {
      await signedCertificate(dir, client, subject, ['extendedKeyUsage=clientAuth']);
    }
  }
  const names = ['kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local', 'localhost'];
  const addresses = [...new Set([state.bindAddress, '127.0.0.1', KUBERNETES_SERVICE_IP])];
  const subjectAltName = [...names.map((name) => `DNS:${name}`), ...addresses.map((address) => `IP:${address}`)].join(',');
  await signedCertificate(dir, 'apiserver', '/CN=kube-apiserver', ['extendedKeyUsage=serverAuth', `subjectAltName=${subjectAltName}`]);
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'];

async function signedCertificate(dir: string, name: string, subject: string, extensions: string[]): Promise<void> {
  await openssl([
    'req',
    '-x509',
    '-nodes',
    ...EC_KEY,
    '-keyout',
    path.join(dir, `${name}.key`),
    '-out',
    path.join(dir, `${name}.crt`),
    '-CA',
    path.join(dir, 'ca.crt'),
    '-CAkey',
    path.join(dir, 'ca.key'),
    '-days',
    '3650',
    '-subj',
    subject,
    '-addext',
    'basicConstraints=critical,CA:FALSE',
    '-addext',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    ...extensions.flatMap((extension) => ['-addext', extension]),
  ]);
}

function openssl(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('openssl', args, (error, _stdout, stderr) => {
      if (error) reject(new Error(`${command('openssl', ...args)} failed: ${stderr.trim() || error.message}`));
      else resolve();
    });
  });
}

const kubeconfigFile = (stateDir: string, client: Client) => path.join(stateDir, `${client}.kubeconfig`);

async function writeKubeconfigs(state: State): Promise<void> {
  const dir = pkiDir(state.stateDir);
  const base64 = async (name: string) => (await readFile(path.join(dir, name))).toString('base64');
  const ca = await base64('ca.crt');
  for (const client of Object.keys(CLIENTS) as Client[]) {
    // The components reach the apiserver on the address it listens on, like any client.
    const kubeconfig = [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      '- name: tsrun-lab',
      '  cluster:',
      `    server: ${serverUrl(state)}`,
      `    certificate-authority-data: ${ca}`,
      'users:',
      `- name: ${client}`,
      '  user:',
      `    client-certificate-data: ${await base64(`${client}.crt`)}`,
      `    client-key-data: ${await base64(`${client}.key`)}`,
      'contexts:',
      '- name: tsrun-lab',
      '  context:',
      '    cluster: tsrun-lab',
      `    user: ${client}`,
      'current-context: tsrun-lab',
      '',
    ].join('\n');
    await writeAtomically(kubeconfigFile(state.stateDir, client), kubeconfig);
  }
}

function serverUrl(state: State): string {
  return `https://${state.bindAddress}:${state.ports.apiserver}`;
}

// ---------------------------------------------------------------- processes

function commandLine(state: State, component: Component): string[] {
  const { stateDir, ports } = state;
  const pki = (name: string) => path.join(pkiDir(stateDir), name);
  const loopback = (port: number) => `http://127.0.0.1:${port}`;
  const delegated = (client: Client) => [
    `--kubeconfig=${kubeconfigFile(stateDir, client)}`,
    `--authentication-kubeconfig=${kubeconfigFile(stateDir, client)}`,
    `--authorization-kubeconfig=${kubeconfigFile(stateDir, client)}`,
    '--bind-address=127.0.0.1',
    `--cert-dir=${path.join(stateDir, component)}`,
    '--leader-elect=false',
  ];
  switch (component) {
    case 'etcd':
      return [
        '--name=lab',
        `--data-dir=${path.join(stateDir, 'etcd')}`,
        `--listen-client-urls=${loopback(ports.etcdClient)}`,
        `--advertise-client-urls=${loopback(ports.etcdClient)}`,
        `--listen-peer-urls=${loopback(ports.etcdPeer)}`,
        `--initial-advertise-peer-urls=${loopback(ports.etcdPeer)}`,
        `--initial-cluster=lab=${loopback(ports.etcdPeer)}`,
        '--log-level=warn',
      ];
    case 'kube-apiserver':
      return [
        `--etcd-servers=${loopback(ports.etcdClient)}`,
        `--bind-address=${state.bindAddress}`,
        `--advertise-address=${state.bindAddress}`,
        `--secure-port=${ports.apiserver}`,
        `--service-cluster-ip-range=${SERVICE_CLUSTER_IP_RANGE}`,
        `--client-ca-file=${pki('ca.crt')}`,
        `--tls-cert-file=${pki('apiserver.crt')}`,
        `--tls-private-key-file=${pki('apiserver.key')}`,
        `--service-account-issuer=https://kubernetes.default.svc.cluster.local`,
        `--service-account-key-file=${pki('sa.pub')}`,
        `--service-account-signing-key-file=${pki('sa.key')}`,
        '--authorization-mode=Node,RBAC',
        '--allow-privileged=true',
        `--cert-dir=${path.join(stateDir, component)}`,
      ];
    case 'kube-controller-manager':
      return [
        ...delegated('controller-manager'),
        `--secure-port=${ports.controllerManager}`,
        '--controllers=*',
        `--service-account-private-key-file=${pki('sa.key')}`,
        '--use-service-account-credentials=true',
        `--root-ca-file=${pki('ca.crt')}`,
        `--cluster-signing-cert-file=${pki('ca.crt')}`,
        `--cluster-signing-key-file=${pki('ca.key')}`,
        `--service-cluster-ip-range=${SERVICE_CLUSTER_IP_RANGE}`,
        // kwok's heartbeats can lag on a loaded 2-core machine; a node marked NotReady for a
        // moment would leave its (fake) pods NotReady for good, as kwok does not re-set them.
        '--node-monitor-grace-period=10m',
      ];
    case 'kube-scheduler':
      return [...delegated('scheduler'), `--secure-port=${ports.scheduler}`];
    case 'kwok':
      return [
        `--kubeconfig=${kubeconfigFile(stateDir, 'kwok')}`,
        '--manage-all-nodes=false',
        `--manage-nodes-with-annotation-selector=${KWOK_NODE_ANNOTATION.key}=${KWOK_NODE_ANNOTATION.value}`,
        `--cidr=${POD_CIDR}`,
        `--node-ip=${FAKE_NODE_IP}`,
        `--server-address=127.0.0.1:${ports.kwok}`,
      ];
  }
}

async function startComponent(state: State, component: Component): Promise<void> {
  const log = openSync(logFile(state.stateDir, component), 'a');
  try {
    const child = spawn(path.join(state.binDir, component), commandLine(state, component), {
      cwd: state.stateDir,
      detached: true, // its own process group: a Ctrl-C meant for the caller does not stop it
      stdio: ['ignore', log, log],
    });
    child.unref();
    if (child.pid === undefined) throw new Error(`could not start ${component}`);
    state.pids[component] = child.pid;
  } finally {
    closeSync(log);
  }
  await writeState(state);
}

/** Whether the recorded pid is a live process of this component and this stateDir (not a recycled pid). */
function isOurs(state: State, component: Component): boolean {
  const pid = state.pids[component];
  if (!isAlive(pid)) return false;
  const args = readFileOr(`/proc/${pid}/cmdline`).split('\0');
  return args[0] === path.join(state.binDir, component) && args.some((arg) => arg.includes(state.stateDir));
}

// ---------------------------------------------------------------- health

async function waitUntilHealthy(state: State): Promise<void> {
  const probes: Array<[Component, () => Promise<boolean>]> = [
    ['etcd', () => httpOk(`http://127.0.0.1:${state.ports.etcdClient}/health`)],
    ['kube-apiserver', () => apiserverReady(state)],
    // Their /healthz is open to anonymous clients; the certificates are their own self-signed ones.
    ['kube-controller-manager', () => httpsOk(`https://127.0.0.1:${state.ports.controllerManager}/healthz`, {})],
    ['kube-scheduler', () => httpsOk(`https://127.0.0.1:${state.ports.scheduler}/healthz`, {})],
    ['kwok', () => httpOk(`http://127.0.0.1:${state.ports.kwok}/healthz`)],
  ];
  await Promise.all(probes.map(([component, probe]) => waitFor(state, component, probe)));
}

async function waitFor(state: State, component: Component, probe: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (await probe()) return;
    if (!isOurs(state, component)) {
      throw new Error(`${component} exited: ${lastLines(logFile(state.stateDir, component), 5)}`);
    }
    if (Date.now() > deadline) throw new Error(`${component} was not ready within ${START_TIMEOUT_MS / 1000} s`);
    await sleep(200);
  }
}

function apiserverReady(state: State): Promise<boolean> {
  const pki = (name: string) => readFileSync(path.join(pkiDir(state.stateDir), name));
  return httpsOk(`${serverUrl(state)}/readyz`, { ca: pki('ca.crt'), cert: pki('admin.crt'), key: pki('admin.key') });
}

function httpOk(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const request = http.get(url, { timeout: 2000 }, (response) => {
      response.resume();
      resolve(response.statusCode === 200);
    });
    request.on('timeout', () => request.destroy());
    request.on('error', () => resolve(false));
  });
}

function httpsOk(url: string, tls: { ca?: Buffer; cert?: Buffer; key?: Buffer }): Promise<boolean> {
  return new Promise((resolve) => {
    const request = https.get(url, { ...tls, rejectUnauthorized: tls.ca !== undefined, timeout: 2000 }, (response) => {
      response.resume();
      resolve(response.statusCode === 200);
    });
    request.on('timeout', () => request.destroy());
    request.on('error', () => resolve(false));
  });
}

// ---------------------------------------------------------------- state and files

const stateFile = (stateDir: string) => path.join(stateDir, 'state.json');
const logDir = (stateDir: string) => path.join(stateDir, 'logs');
const logFile = (stateDir: string, component: Component) => path.join(logDir(stateDir), `${component}.log`);

function describe(state: State): ControlPlane {
  return { kubeconfig: kubeconfigFile(state.stateDir, 'admin'), server: serverUrl(state), pids: { ...state.pids } };
}

function readState(stateDir: string): State | undefined {
  const text = readFileOr(stateFile(stateDir));
  if (text === '') return undefined;
  const parsed = StateSchema.safeParse(JSON.parse(text));
  if (!parsed.success) throw new Error(`${stateFile(stateDir)} is not a control-plane state file: ${parsed.error.message}`);
  return parsed.data;
}

async function writeState(state: State): Promise<void> {
  await writeAtomically(stateFile(state.stateDir), `${JSON.stringify(state, null, 2)}\n`);
}

async function writeAtomically(file: string, text: string): Promise<void> {
  await writeFile(`${file}.tmp`, text, { mode: 0o600 });
  await rename(`${file}.tmp`, file);
}

function lastLines(file: string, count: number): string {
  return readFileOr(file).trimEnd().split('\n').slice(-count).join('\n');
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
