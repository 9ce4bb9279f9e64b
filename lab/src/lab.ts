/**
 * A homelab in a box: a controller and workers as real SSH hosts, a real Kubernetes
 * control plane they reach over the lab bridge, containerd on the workers, an upstream
 * registry standing in for Docker Hub, Longhorn-named storage, MetalLB-style addresses,
 * and the registry workload run for real (see lab-daemon.ts).
 *
 * Everything lives under one state directory outside the work tree; `.lab/hosts.ini` is
 * the inventory `tsrun provision -i .lab/hosts.ini` needs.
 */
import { spawn, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { certManagerPid, CLUSTER_ISSUER, startCertManager, stopCertManager } from './cert-manager.js';
import { startContainerd, stopContainerd } from './containerd.js';
import { controlPlaneStatus, startControlPlane, stopControlPlane } from './control-plane.js';
import { seedImage } from './image.js';
import { apply } from './kube.js';
import { startRegistry, stopRegistry } from './registry.js';
import { readTestHosts, startTestHosts, stopTestHosts, testHostsStatus, type TestHost, type TestHosts } from './testhosts.js';
import { isAlive as alive } from './processes.js';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const PREFIX = 'lab';
const UPSTREAM_PORT = 5001;
/** The seeded image every worker pulls through the mirror. */
export const SEEDED_IMAGE = { repository: 'library/hello', tag: 'latest' } as const;

export function defaultStateDir(): string {
  return `/var/lib/tsrun/lab-${createHash('sha1').update(REPO_ROOT).digest('hex').slice(0, 10)}`;
}

const LabStateSchema = z.object({
  gateway: z.string(),
  bridge: z.string(),
  kubeconfig: z.string(),
  upstream: z.string(),
  pool: z.array(z.string()),
  daemonPid: z.number(),
  inventory: z.string(),
});
type LabState = z.infer<typeof LabStateSchema>;

export interface LabOptions {
  stateDir?: string;
  /** Where the inventory goes (`.lab/hosts.ini` in the work tree). */
  inventoryDir?: string;
  workers?: number;
  subnet?: string;
  /** Names the hosts and the bridge; a second lab on the machine needs its own. */
  prefix?: string;
  log?: (line: string) => void;
}

const dirs = (stateDir: string) => ({
  hosts: path.join(stateDir, 'hosts'),
  k8s: path.join(stateDir, 'k8s'),
  certManager: path.join(stateDir, 'cert-manager'),
  upstream: path.join(stateDir, 'upstream'),
  daemon: path.join(stateDir, 'daemon'),
  volumes: path.join(stateDir, 'daemon', 'volumes'),
  state: path.join(stateDir, 'lab.json'),
});

function readState(stateDir: string): LabState | undefined {
  const file = dirs(stateDir).state;
  if (!existsSync(file)) return undefined;
  return LabStateSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
}

function writeAtomic(file: string, text: string, mode = 0o644): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(`${file}.tmp`, text, { mode });
  renameSync(`${file}.tmp`, file);
}

/** A file inside a host's own mount namespace, seen from the machine. */
const hostFile = (host: TestHost, absolute: string): string => path.join(`/proc/${host.sshdPid}/root`, absolute);

function ensureBinaries(log: (line: string) => void): void {
  log('Kubernetes and cert-manager binaries (built once per machine from the Go module proxy; cached) ...');
  execFileSync(path.join(REPO_ROOT, 'lab/k8s/build.sh'), { stdio: 'inherit' });
  execFileSync(path.join(REPO_ROOT, 'lab/cert-manager/build.sh'), { stdio: 'inherit' });
}

/** Kubeconfig where k3s puts it and where kubectl looks, on the controller. */
function installKubeconfig(controller: TestHost, kubeconfig: string): void {
  const text = readFileSync(kubeconfig, 'utf8');
  for (const target of ['/etc/rancher/k3s/k3s.yaml', '/root/.kube/config']) {
    const file = hostFile(controller, target);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, text, { mode: 0o600 });
  }
}

/** Nodes kwok keeps Ready, the longhorn StorageClass and volumes its claims bind to. */
async function clusterObjects(kubeconfig: string, workers: TestHost[], volumesDir: string): Promise<void> {
  const nodes = workers.map((worker) => ({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: worker.name,
      annotations: { 'kwok.x-k8s.io/node': 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
      labels: { 'kubernetes.io/hostname': worker.name, 'kubernetes.io/os': 'linux', 'node-type': 'worker', type: 'kwok' },
    },
    spec: {},
  }));
  const storageClass = {
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: { name: 'longhorn' },
    provisioner: 'driver.longhorn.io',
    reclaimPolicy: 'Retain',
    volumeBindingMode: 'Immediate',
  };
  const volumes = Array.from({ length: 8 }, (_, index) => {
    const dir = path.join(volumesDir, `pv-${index + 1}`);
    mkdirSync(dir, { recursive: true });
    return {
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: `longhorn-pv-${index + 1}` },
      spec: {
        capacity: { storage: '50Gi' },
        accessModes: ['ReadWriteOnce'],
        persistentVolumeReclaimPolicy: 'Retain',
        storageClassName: 'longhorn',
        hostPath: { path: dir },
      },
    };
  });
  await apply(kubeconfig, [...nodes, storageClass, ...volumes]);
}

function startDaemon(state: Omit<LabState, 'daemonPid' | 'inventory'>, daemonDir: string): number {
  mkdirSync(daemonDir, { recursive: true });
  const log = openSync(path.join(daemonDir, 'daemon.log'), 'a');
  const child = spawn(
    process.execPath,
    [
      path.join(REPO_ROOT, 'lab/dist/lab-daemon.js'),
      '--state-dir',
      daemonDir,
      '--kubeconfig',
      state.kubeconfig,
      '--bridge',
      state.bridge,
      '--pool',
      state.pool.join(','),
    ],
    { detached: true, stdio: ['ignore', log, log] },
  );
  closeSync(log);
  child.unref();
  return child.pid!;
}

function inventoryText(hosts: TestHosts, state: Omit<LabState, 'daemonPid' | 'inventory'>): string {
  const [controller, ...workers] = hosts.hosts;
  const line = (host: TestHost): string => `${host.name} ansible_host=${host.address}`;
  return [
    '# The lab: written by `make lab-up`; `tsrun provision -i .lab/hosts.ini` needs nothing else.',
    '[controllers]',
    line(controller!),
    '',
    '[workers]',
    ...workers.map(line),
    '',
    '[all:vars]',
    'ansible_user=root',
    `ansible_ssh_private_key_file=${hosts.keyFile}`,
    `tsrun_known_hosts=${hosts.knownHostsFile}`,
    '# The mirror: an address of the lab pool, Docker Hub played by the lab upstream registry.',
    `docker_reg_service_ip=${state.pool[0]}`,
    `docker_reg_mirrors=[{'name': 'dockerhub', 'upstream': 'docker.io', 'remote_url': '${state.upstream}', 'port': 5000}]`,
    `cert_manager_issuer=${CLUSTER_ISSUER}`,
    `docker_reg_verify_image=docker.io/${SEEDED_IMAGE.repository}:${SEEDED_IMAGE.tag}`,
    '',
  ].join('\n');
}

export async function labUp(options: LabOptions = {}): Promise<{ inventory: string; seconds: number }> {
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const stateDir = options.stateDir ?? defaultStateDir();
  const d = dirs(stateDir);
  const started = Date.now();
  ensureBinaries(log);

  log('hosts: a controller and workers, each with its own network and files ...');
  const prefix = options.prefix ?? PREFIX;
  const hosts = await startTestHosts({ count: 1 + (options.workers ?? 3), stateDir: d.hosts, prefix, subnet: options.subnet });
  const [controller, ...workers] = hosts.hosts;
  const base = controller!.address.split('.').slice(0, 3).join('.');
  const gateway = `${base}.1`;
  const bridge = `${prefix}br0`;

  log(`Kubernetes control plane on ${gateway} ...`);
  const plane = await startControlPlane({ stateDir: d.k8s, bindAddress: gateway });
  installKubeconfig(controller!, plane.kubeconfig);
  await clusterObjects(plane.kubeconfig, workers, d.volumes);

  log(`cert-manager with the CA ClusterIssuer ${CLUSTER_ISSUER} ...`);
  await startCertManager({ kubeconfig: plane.kubeconfig, stateDir: d.certManager });

  log(`upstream registry (Docker Hub's stand-in) on ${gateway}:${UPSTREAM_PORT}, seeded with ${SEEDED_IMAGE.repository} ...`);
  const upstream = await startRegistry({ stateDir: d.upstream, listen: `${gateway}:${UPSTREAM_PORT}` });
  await seedImage(upstream.url, SEEDED_IMAGE.repository, SEEDED_IMAGE.tag);

  log('containerd on every worker ...');
  await Promise.all(workers.map((worker) => startContainerd(worker, stateDir)));

  const previous = readState(stateDir);
  const partial = {
    gateway,
    bridge,
    kubeconfig: plane.kubeconfig,
    upstream: upstream.url,
    pool: Array.from({ length: 20 }, (_, index) => `${base}.${200 + index}`),
  };
  const daemonPid = previous && alive(previous.daemonPid) ? previous.daemonPid : startDaemon(partial, d.daemon);
  const inventoryDir = options.inventoryDir ?? path.join(REPO_ROOT, '.lab');
  const inventory = path.join(inventoryDir, 'hosts.ini');
  writeAtomic(inventory, inventoryText(hosts, partial));
  writeAtomic(d.state, JSON.stringify({ ...partial, daemonPid, inventory }, null, 2));
  const seconds = (Date.now() - started) / 1000;
  log(`lab up in ${seconds.toFixed(1)} s; inventory: ${inventory}`);
  return { inventory, seconds };
}

export async function labDown(options: LabOptions = {}): Promise<void> {
  const stateDir = options.stateDir ?? defaultStateDir();
  const d = dirs(stateDir);
  const state = readState(stateDir);
  if (state && alive(state.daemonPid)) {
    process.kill(state.daemonPid, 'SIGTERM');
    for (let i = 0; i < 50 && alive(state.daemonPid); i++) await new Promise((resolve) => setTimeout(resolve, 100));
    if (alive(state.daemonPid)) process.kill(state.daemonPid, 'SIGKILL');
  }
  const hosts = readTestHosts(d.hosts);
  for (const host of hosts?.hosts ?? []) await stopContainerd(host, stateDir).catch(() => undefined);
  await stopRegistry(d.upstream).catch(() => undefined);
  await stopCertManager(d.certManager).catch(() => undefined);
  await stopControlPlane(d.k8s).catch(() => undefined);
  await stopTestHosts(d.hosts);
  // A lab is brought up fresh each time: its cluster data and volumes go with it.
  if (state) rmSync(state.inventory, { force: true });
  rmSync(stateDir, { recursive: true, force: true });
}

export function labStatus(options: LabOptions = {}): string {
  const stateDir = options.stateDir ?? defaultStateDir();
  const d = dirs(stateDir);
  const state = readState(stateDir);
  if (!state) return 'the lab is down (make lab-up brings it up)';
  const lines = [`inventory: ${state.inventory}`, `API server: https://${state.gateway}:6443  upstream registry: ${state.upstream}`];
  for (const host of testHostsStatus(d.hosts) ?? []) lines.push(`host ${host.name.padEnd(8)} ${host.address.padEnd(15)} ${host.up ? 'up' : 'DOWN'}`);
  for (const component of controlPlaneStatus(d.k8s) ?? []) {
    lines.push(`${component.component.padEnd(24)} ${component.up ? `up, ${Math.round(component.rssKiB / 1024)} MiB` : 'DOWN'}`);
  }
  lines.push(`cert-manager (ClusterIssuer ${CLUSTER_ISSUER}): ${certManagerPid(d.certManager) ? 'up' : 'DOWN'}`);
  lines.push(`lab controllers (addresses, registry workloads): ${alive(state.daemonPid) ? 'up' : 'DOWN'}`);
  const daemonState = path.join(d.daemon, 'daemon-state.json');
  if (existsSync(daemonState)) {
    const { workloads, problems } = JSON.parse(readFileSync(daemonState, 'utf8')) as {
      workloads: Array<{ key: string; address: string }>;
      problems: Record<string, string>;
    };
    for (const workload of workloads) lines.push(`registry workload ${workload.key} on ${workload.address}`);
    for (const [key, problem] of Object.entries(problems)) lines.push(`problem: ${key}: ${problem}`);
  }
  return lines.join('\n');
}
