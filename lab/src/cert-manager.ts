/**
 * The lab's cert-manager: the real CRDs and the real controller (built from the Go module
 * proxy by lab/cert-manager/build.sh), with a CA ClusterIssuer that signs from a lab CA
 * made here with openssl. Nodes trust that CA (`caCertificate`) to pull from a registry
 * whose serving certificate cert-manager issued.
 *
 * The controller runs as a plain process against the control plane's kubeconfig, without
 * the webhook or cainjector: nothing in the lab needs defaulting, conversion or injection.
 * Everything lives in `stateDir`: the CA key pair, the controller's log and `state.json`.
 */
import { execFile, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { z } from 'zod';
import { apply, kubectl, type KubeObject } from './kube.js';
import { exists, isAlive, killAndWait, readFileOr, sleep } from './processes.js';

const VERSIONS_FILE = fileURLToPath(new URL('../../lab/cert-manager/versions.env', import.meta.url));
const CACHE_ROOT = process.env.TSRUN_CERT_MANAGER_CACHE ?? '/var/cache/tsrun/cert-manager';
const CONTROLLER = 'cert-manager-controller';

export const CERT_MANAGER_NAMESPACE = 'cert-manager';
/** The Secret (in CERT_MANAGER_NAMESPACE) holding the lab CA's certificate and key. */
export const CA_SECRET = 'lab-ca';
export const CLUSTER_ISSUER = 'lab-ca-issuer';

const READY_TIMEOUT_MS = 120_000;
const STOP_TIMEOUT_MS = 10_000;

const StateSchema = z.object({
  pid: z.number().int().positive(),
  binary: z.string(),
  kubeconfig: z.string(),
});
type State = z.infer<typeof StateSchema>;

export interface CertManagerOptions {
  /** An admin kubeconfig of the control plane. */
  kubeconfig: string;
  /** Holds ca.crt, ca.key, cert-manager.log and state.json; not shared with anything else. */
  stateDir: string;
  /** Holds cert-manager-controller (default: the cache build.sh fills). */
  binDir?: string;
  /** Holds the CRD YAMLs (default: beside binDir, as build.sh lays them out). */
  crdDir?: string;
}

export interface RunningCertManager {
  pid: number;
  /** The lab CA's certificate (PEM): what a node trusts to accept certificates the issuer signs. */
  caCertificate: string;
  clusterIssuer: typeof CLUSTER_ISSUER;
  logFile: string;
}

/** The pinned cert-manager version from lab/cert-manager/versions.env. */
export function certManagerVersion(): string {
  const version = /^CERT_MANAGER_VERSION=(\S+)$/m.exec(readFileSync(VERSIONS_FILE, 'utf8'))?.[1];
  if (!version) throw new Error(`no CERT_MANAGER_VERSION in ${VERSIONS_FILE}`);
  return version;
}

/** Where lab/cert-manager/build.sh puts the controller of the pinned version. */
export function defaultCertManagerBinDir(): string {
  return path.join(CACHE_ROOT, certManagerVersion(), 'bin');
}

/** The lab CA's certificate under a cert-manager stateDir (it exists once started). */
export function caCertificatePath(stateDir: string): string {
  return path.join(path.resolve(stateDir), 'ca.crt');
}

/**
 * Install the CRDs, the lab CA and its ClusterIssuer, start the controller (or keep the one
 * already running for this kubeconfig) and wait until the ClusterIssuer is Ready. The CA
 * is made once per stateDir and kept, so certificates issued before stay trusted.
 */
export async function startCertManager(options: CertManagerOptions): Promise<RunningCertManager> {
  const stateDir = path.resolve(options.stateDir);
  const kubeconfig = path.resolve(options.kubeconfig);
  const binDir = path.resolve(options.binDir ?? defaultCertManagerBinDir());
  const crdDir = path.resolve(options.crdDir ?? path.join(binDir, '..', 'crds'));
  const binary = path.join(binDir, CONTROLLER);
  const built = 'build them with lab/cert-manager/build.sh';
  if (!(await exists(binary))) throw new Error(`no ${CONTROLLER} in ${binDir}: ${built}`);
  const crds = (await readdir(crdDir).catch(() => [])).filter((name) => name.endsWith('.yaml')).sort();
  if (crds.length === 0) throw new Error(`no cert-manager CRDs in ${crdDir}: ${built}`);

  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  await installCrds(kubeconfig, crdDir, crds);
  const ca = await ensureCa(stateDir);
  await apply(kubeconfig, [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: CERT_MANAGER_NAMESPACE } },
    {
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'kubernetes.io/tls',
      metadata: { name: CA_SECRET, namespace: CERT_MANAGER_NAMESPACE },
      data: { 'tls.crt': base64(ca.certificate), 'tls.key': base64(ca.key) },
    },
    {
      apiVersion: 'cert-manager.io/v1',
      kind: 'ClusterIssuer',
      metadata: { name: CLUSTER_ISSUER },
      spec: { ca: { secretName: CA_SECRET } },
    },
  ]);

  const state = readState(stateDir);
  let pid: number;
  if (state && state.kubeconfig === kubeconfig && state.binary === binary && isOurs(state)) {
    pid = state.pid;
  } else {
    await stopCertManager(stateDir);
    pid = startController(stateDir, binary, kubeconfig);
    await writeState(stateDir, { pid, binary, kubeconfig });
  }
  await waitUntilIssuerReady(kubeconfig, pid, logFile(stateDir));
  return { pid, caCertificate: caCertificatePath(stateDir), clusterIssuer: CLUSTER_ISSUER, logFile: logFile(stateDir) };
}

/**
 * Stop the controller of a stateDir; a second call is a no-op. The CA and the objects in
 * the cluster stay, so the next start picks up where this one left off.
 */
export async function stopCertManager(stateDirInput: string): Promise<void> {
  const stateDir = path.resolve(stateDirInput);
  const state = readState(stateDir);
  if (state && isOurs(state)) await killAndWait(state.pid, STOP_TIMEOUT_MS);
  await rm(stateFile(stateDir), { force: true });
}

/** The pid of the controller running from this stateDir, if one is. */
export function certManagerPid(stateDirInput: string): number | undefined {
  const state = readState(path.resolve(stateDirInput));
  return state && isOurs(state) ? state.pid : undefined;
}

// ---------------------------------------------------------------- cluster objects

async function installCrds(kubeconfig: string, crdDir: string, files: string[]): Promise<void> {
  const names: string[] = [];
  for (const file of files) {
    const text = await readFile(path.join(crdDir, file), 'utf8');
    const name = (parse(text) as { metadata?: { name?: unknown } } | null)?.metadata?.name;
    if (typeof name !== 'string') throw new Error(`no metadata.name in ${path.join(crdDir, file)}`);
    names.push(`crd/${name}`);
  }
  // Server-side: the CRDs are too big for the last-applied annotation of a client-side apply.
  await kubectl(kubeconfig, [
    'apply',
    '--server-side',
    '--field-manager=tsrun-lab',
    '--force-conflicts',
    ...files.flatMap((file) => ['-f', path.join(crdDir, file)]),
  ]);
  await kubectl(kubeconfig, ['wait', '--for=condition=Established', '--timeout=60s', ...names]);
}

/** The CA key pair of this stateDir, made with openssl the first time. */
async function ensureCa(stateDir: string): Promise<{ certificate: string; key: string }> {
  const certificate = caCertificatePath(stateDir);
  const key = path.join(stateDir, 'ca.key');
  if (!(await exists(certificate)) || !(await exists(key))) {
    // Written beside and renamed, the key first: a certificate on disk always has its key.
    await openssl([
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-noenc',
      '-keyout',
      `${key}.tmp`,
      '-out',
      `${certificate}.tmp`,
      '-days',
      '3650',
      '-subj',
      '/CN=tsrun lab CA',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ]);
    await rename(`${key}.tmp`, key);
    await rename(`${certificate}.tmp`, certificate);
  }
  return { certificate: await readFile(certificate, 'utf8'), key: await readFile(key, 'utf8') };
}

/** Ready=True on the ClusterIssuer: the controller read the CA Secret and can sign. */
async function waitUntilIssuerReady(kubeconfig: string, pid: number, log: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let last = 'no status yet';
  while (Date.now() < deadline && isAlive(pid)) {
    const text = await kubectl(kubeconfig, ['get', 'clusterissuer', CLUSTER_ISSUER, '-o', 'json', '--ignore-not-found']);
    const issuer = text.trim() ? (JSON.parse(text) as KubeObject) : undefined;
    const ready = (issuer?.status?.conditions as Array<{ type: string; status: string; message?: string }> | undefined)?.find(({ type }) => type === 'Ready');
    if (ready?.status === 'True') return;
    if (ready) last = `Ready=${ready.status}: ${ready.message ?? ''}`;
    await sleep(500);
  }
  const tail = (await readFile(log, 'utf8').catch(() => '')).trim().split('\n').slice(-20).join('\n');
  const why = isAlive(pid) ? `ClusterIssuer ${CLUSTER_ISSUER} not Ready after ${READY_TIMEOUT_MS / 1000} s (${last})` : `${CONTROLLER} exited`;
  throw new Error(`${why}; log ${log}${tail ? `:\n${tail}` : ''}`);
}

// ---------------------------------------------------------------- the process

function startController(stateDir: string, binary: string, kubeconfig: string): number {
  const log = openSync(logFile(stateDir), 'a');
  try {
    const child = spawn(binary, [`--kubeconfig=${kubeconfig}`, `--cluster-resource-namespace=${CERT_MANAGER_NAMESPACE}`, '--leader-elect=false', '--v=2'], {
      detached: true,
      stdio: ['ignore', log, log],
    });
    child.unref();
    if (child.pid === undefined) throw new Error(`could not start ${binary}`);
    return child.pid;
  } finally {
    closeSync(log);
  }
}

/** A live controller started from this state (not a recycled pid). */
function isOurs(state: State): boolean {
  if (!isAlive(state.pid)) return false;
  const args = readFileOr(`/proc/${state.pid}/cmdline`).split('\0');
  return args[0] === state.binary && args.includes(`--kubeconfig=${state.kubeconfig}`);
}

// ---------------------------------------------------------------- files

const stateFile = (stateDir: string) => path.join(stateDir, 'state.json');
const logFile = (stateDir: string) => path.join(stateDir, 'cert-manager.log');

function readState(stateDir: string): State | undefined {
  const text = readFileOr(stateFile(stateDir));
  if (!text) return undefined;
  const parsed = StateSchema.safeParse(JSON.parse(text));
  return parsed.success ? parsed.data : undefined;
}

async function writeState(stateDir: string, state: State): Promise<void> {
  await writeFile(`${stateFile(stateDir)}.tmp`, `${JSON.stringify(state, null, 2)}\n`);
  await rename(`${stateFile(stateDir)}.tmp`, stateFile(stateDir));
}

function openssl(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('openssl', args, (error, _stdout, stderr) => {
      if (error) reject(new Error(`openssl ${args[0]}: ${stderr.trim() || error.message}`));
      else resolve();
    });
  });
}

const base64 = (text: string) => Buffer.from(text).toString('base64');
