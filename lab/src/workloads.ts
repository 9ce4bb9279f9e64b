/**
 * The kubelet's job for one image: when a Deployment of the CNCF registry (`registry:2`)
 * is Available and a LoadBalancer Service selects it, run Debian's distribution registry
 * with that Deployment's configuration — its ConfigMap and Secret volumes mounted where
 * the pod spec says, its environment, its claim's volume — on the Service's address. So
 * the configuration tsrun generates is parsed and served by the real registry.
 *
 * Each registry runs chrooted in its own mount namespace, in a root made of the host's
 * /usr and /lib plus the pod's volumes, so mount paths like /certs or /auth need not exist
 * on the machine.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { get, getClusterScoped, type KubeObject } from './kube.js';
import { isAlive } from './processes.js';

export const REGISTRY_BINARY = '/usr/bin/docker-registry';
const REGISTRY_IMAGE = /(^|\/)registry:2(\.|$)/;

export interface Workload {
  key: string;
  pid: number;
  hash: string;
  address: string;
}

interface Container {
  image: string;
  args?: string[];
  command?: string[];
  // biome-ignore lint/suspicious/noExplicitAny: valueFrom is passed through to the API server unread
  env?: Array<{ name: string; value?: string; valueFrom?: any }>;
  ports?: Array<{ containerPort: number }>;
  volumeMounts?: Array<{ name: string; mountPath: string; subPath?: string; readOnly?: boolean }>;
}

export function registryContainer(deployment: KubeObject): Container | undefined {
  return (deployment.spec?.template?.spec?.containers as Container[] | undefined)?.find((c) => REGISTRY_IMAGE.test(c.image));
}

function selects(service: KubeObject, deployment: KubeObject): boolean {
  const selector = service.spec?.selector as Record<string, string> | undefined;
  const labels = (deployment.spec?.template?.metadata?.labels ?? {}) as Record<string, string>;
  return !!selector && Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v);
}

/** The Service that exposes `deployment`, with its address and the port mapping to the registry. */
export function exposingService(deployment: KubeObject, services: KubeObject[], addresses: Map<string, string>) {
  for (const service of services) {
    if (service.metadata.namespace !== deployment.metadata.namespace || !selects(service, deployment)) continue;
    const address = addresses.get(`${service.metadata.namespace}/${service.metadata.name}`);
    const port = service.spec?.ports?.[0];
    if (address && port) return { service, address, port: Number(port.port) };
  }
  return undefined;
}

interface Materialized {
  /** mountPath ← a path under the volumes directory (`inVolumes`) or on the machine (claims). */
  mounts: Array<{ source: string; inVolumes: boolean; target: string; file: boolean }>;
  /** Files to write under the volumes directory before the registry starts. */
  files: Array<{ path: string; content: Buffer }>;
  env: Record<string, string>;
  /** Everything the registry sees, for the restart-on-change hash. */
  fingerprint: string;
}

/**
 * Read the pod's volumes and environment. Nothing is written here: a running registry's
 * mounted directories must stay as they are until its configuration really changes.
 */
async function materialize(kubeconfig: string, deployment: KubeObject, container: Container, dataDir: string): Promise<Materialized> {
  const namespace = deployment.metadata.namespace!;
  // biome-ignore lint/suspicious/noExplicitAny: a volume is one of many kinds, read by key below
  const volumes = (deployment.spec.template.spec.volumes ?? []) as any[];
  const mounts: Materialized['mounts'] = [];
  const files: Materialized['files'] = [];
  const fingerprint = createHash('sha256');
  fingerprint.update(JSON.stringify(container));

  for (const mount of container.volumeMounts ?? []) {
    const volume = volumes.find((v) => v.name === mount.name);
    if (!volume) throw new Error(`volume ${mount.name} is not defined in the pod`);
    let source: string;
    let inVolumes = true;
    if (volume.configMap || volume.secret) {
      const kind = volume.configMap ? 'configmap' : 'secret';
      const name = volume.configMap?.name ?? volume.secret?.secretName;
      const object = await get(kubeconfig, kind, namespace, name);
      if (!object) throw new Error(`${kind} ${namespace}/${name} not found`);
      source = mount.name;
      const data = object.data ?? {};
      const items = (volume.configMap?.items ?? volume.secret?.items) as Array<{ key: string; path: string }> | undefined;
      for (const { key, path } of items ?? Object.keys(data).map((k) => ({ key: k, path: k }))) {
        const value = data[key];
        if (value === undefined) continue;
        const content = kind === 'secret' ? Buffer.from(value, 'base64') : Buffer.from(value);
        files.push({ path: join(mount.name, path), content });
        fingerprint.update(`${mount.name}/${path}\0`).update(content);
      }
    } else if (volume.persistentVolumeClaim) {
      // The claim's data live on the volume it is bound to (a hostPath the lab provisioned),
      // so a volume kept across unprovision keeps the registry's data, and a purged one not.
      const claim = await get(kubeconfig, 'persistentvolumeclaim', namespace, volume.persistentVolumeClaim.claimName);
      const bound = claim?.spec?.volumeName as string | undefined;
      const pv = bound ? await getClusterScoped(kubeconfig, 'persistentvolume', bound) : undefined;
      source = (pv?.spec?.hostPath?.path as string | undefined) ?? join(dataDir, namespace, volume.persistentVolumeClaim.claimName);
      inVolumes = false;
    } else if (volume.emptyDir) {
      source = mount.name;
    } else {
      throw new Error(`volume ${mount.name}: only configMap, secret, persistentVolumeClaim and emptyDir are run by the lab`);
    }
    const file = !!mount.subPath && !(volume.persistentVolumeClaim || volume.emptyDir);
    mounts.push({ source: mount.subPath ? join(source, mount.subPath) : source, inVolumes, target: mount.mountPath, file });
  }

  const env: Record<string, string> = {};
  for (const variable of container.env ?? []) {
    if (variable.value !== undefined) env[variable.name] = variable.value;
    const ref = variable.valueFrom?.secretKeyRef ?? variable.valueFrom?.configMapKeyRef;
    if (ref) {
      const kind = variable.valueFrom.secretKeyRef ? 'secret' : 'configmap';
      const object = await get(kubeconfig, kind, namespace, ref.name);
      const raw = object?.data?.[ref.key];
      if (raw === undefined) {
        if (ref.optional) continue;
        throw new Error(`${kind} ${namespace}/${ref.name} has no key ${ref.key}`);
      }
      env[variable.name] = kind === 'secret' ? Buffer.from(raw, 'base64').toString() : raw;
    }
  }
  fingerprint.update(JSON.stringify(env));
  return { mounts, files, env, fingerprint: fingerprint.digest('hex') };
}

/** Write the volumes into a directory of their own (one per configuration) and resolve the mounts. */
function writeVolumes(materialized: Materialized, volumesDir: string): Array<{ source: string; target: string; file: boolean }> {
  rmSync(volumesDir, { recursive: true, force: true });
  for (const { path, content } of materialized.files) {
    mkdirSync(join(volumesDir, path, '..'), { recursive: true });
    writeFileSync(join(volumesDir, path), content, { mode: 0o600 });
  }
  return materialized.mounts.map(({ source, inVolumes, target, file }) => {
    const path = inVolumes ? join(volumesDir, source) : source;
    if (!file) mkdirSync(path, { recursive: true });
    return { source: path, target, file };
  });
}

/** A shell script that builds the registry's root in a private mount namespace and runs it. */
function launchScript(root: string, mounts: Array<{ source: string; target: string; file: boolean }>, args: string[]): string {
  const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
  const lines = ['set -e', `r=${q(root)}`, 'mkdir -p "$r"', 'mount -t tmpfs tmpfs "$r"'];
  for (const dir of ['usr', 'lib', 'lib64', 'bin', 'sbin', 'etc/ssl', 'dev']) {
    if (!existsSync(`/${dir}`)) continue;
    lines.push(`mkdir -p "$r/${dir}"`, `mount --rbind /${dir} "$r/${dir}"`);
  }
  lines.push('mkdir -p "$r/tmp" "$r/proc"', 'mount -t proc proc "$r/proc"');
  for (const file of ['etc/hosts', 'etc/resolv.conf', 'etc/passwd', 'etc/group']) {
    if (existsSync(`/${file}`)) lines.push(`touch "$r/${file}"`, `mount --bind /${file} "$r/${file}"`);
  }
  for (const mount of mounts) {
    const target = `"$r"${q(mount.target)}`;
    lines.push(mount.file ? `mkdir -p "$(dirname ${target})"; touch ${target}` : `mkdir -p ${target}`, `mount --bind ${q(mount.source)} ${target}`);
  }
  lines.push(`exec chroot "$r" ${[REGISTRY_BINARY, ...args].map(q).join(' ')}`);
  return lines.join('\n');
}

/** Start (or restart, when its configuration changed) the registry for one Deployment. */
export async function runRegistry(options: {
  kubeconfig: string;
  deployment: KubeObject;
  address: string;
  port: number;
  stateDir: string;
  dataDir: string;
  current?: Workload;
}): Promise<Workload> {
  const { deployment } = options;
  const container = registryContainer(deployment)!;
  const key = `${deployment.metadata.namespace}/${deployment.metadata.name}`;
  const dir = join(options.stateDir, 'workloads', key.replace('/', '_'));
  mkdirSync(dir, { recursive: true });
  const materialized = await materialize(options.kubeconfig, deployment, container, options.dataDir);
  const hash = createHash('sha256').update(materialized.fingerprint).update(`${options.address}:${options.port}`).digest('hex');
  if (options.current && options.current.hash === hash && isAlive(options.current.pid)) return options.current;
  if (options.current) stopWorkload(options.current);
  const mounts = writeVolumes(materialized, join(dir, 'volumes'));

  // The registry image's entrypoint is `registry serve /etc/docker/registry/config.yml`.
  const args = container.args?.length ? container.args : ['serve', '/etc/docker/registry/config.yml'];
  const log = openSync(join(dir, 'registry.log'), 'a');
  const child = spawn('unshare', ['-m', '--propagation', 'private', 'sh', '-c', launchScript(join(dir, 'root'), mounts, args)], {
    env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', ...materialized.env, REGISTRY_HTTP_ADDR: `${options.address}:${options.port}` },
    stdio: ['ignore', log, log],
    detached: true,
  });
  closeSync(log);
  child.unref();
  return { key, pid: child.pid!, hash, address: `${options.address}:${options.port}` };
}

export function stopWorkload(workload: Workload): void {
  try {
    process.kill(-workload.pid, 'SIGTERM');
  } catch {
    try {
      process.kill(workload.pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
}
