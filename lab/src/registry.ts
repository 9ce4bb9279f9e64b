/**
 * A Docker registry for the lab: Debian's docker-registry (CNCF distribution 2.8), standing in
 * for Docker Hub as an upstream, or with `proxyRemoteUrl` as a pull-through cache of one.
 *
 * Everything lives in `stateDir`: config.yml, the storage, the log and the pid, so a second
 * registry is simply another stateDir. It runs in the root network namespace and listens on
 * the address the caller gives (in the lab, a bridge gateway the workers reach).
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { stringify } from 'yaml';
import { exists, isAlive, killAndWait, readFileOr, sleep } from './processes.js';

const REGISTRY = '/usr/bin/docker-registry';
const READY_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 10_000;

export interface RegistryOptions {
  /** Holds config.yml, storage/, registry.log and registry.pid; one registry per stateDir. */
  stateDir: string;
  /** host:port to listen on, e.g. the lab bridge's gateway `10.213.20.1:5000`. */
  listen: string;
  /** Makes this registry a pull-through cache of that registry (distribution's proxy.remoteurl). */
  proxyRemoteUrl?: string;
  /** Basic auth from an htpasswd file (bcrypt entries, as distribution requires). */
  htpasswd?: { path: string; realm?: string };
  /** Serve HTTPS with this certificate and key (PEM files). */
  tls?: { certificate: string; key: string };
}

export interface RunningRegistry {
  pid: number;
  /** http(s)://listen */
  url: string;
  /** The filesystem driver's root: `docker/registry/v2/...` grows under it. */
  storageDir: string;
  configFile: string;
  logFile: string;
}

/** distribution's config.yml for these options. */
export function registryConfig(options: RegistryOptions): string {
  const stateDir = path.resolve(options.stateDir);
  const config: Record<string, unknown> = {
    version: 0.1,
    log: { level: 'info', formatter: 'text' },
    storage: {
      filesystem: { rootdirectory: storageDir(stateDir) },
      delete: { enabled: true },
    },
    http: {
      addr: options.listen,
      headers: { 'X-Content-Type-Options': ['nosniff'] },
      ...(options.tls ? { tls: { certificate: options.tls.certificate, key: options.tls.key } } : {}),
    },
  };
  if (options.htpasswd) config.auth = { htpasswd: { realm: options.htpasswd.realm ?? 'tsrun-lab', path: options.htpasswd.path } };
  if (options.proxyRemoteUrl) config.proxy = { remoteurl: options.proxyRemoteUrl };
  return stringify(config);
}

/**
 * Start a registry, or return the one already running from this stateDir. Its config is
 * rewritten on every start, so a stopped registry restarts with the options given now.
 */
export async function startRegistry(options: RegistryOptions): Promise<RunningRegistry> {
  const stateDir = path.resolve(options.stateDir);
  const url = registryUrl(options);
  const running = recordedPid(stateDir);
  const files = { storageDir: storageDir(stateDir), configFile: configFile(stateDir), logFile: logFile(stateDir) };
  if (running !== undefined && isOurRegistry(running, stateDir)) return { pid: running, url, ...files };
  if (!(await exists(REGISTRY))) throw new Error('the lab registry needs docker-registry: apt-get install -y docker-registry');

  await mkdir(files.storageDir, { recursive: true, mode: 0o700 });
  await writeFile(files.configFile, registryConfig(options), { mode: 0o600 });
  const log = openSync(files.logFile, 'w');
  let pid: number;
  try {
    const child = spawn(REGISTRY, ['serve', files.configFile], { detached: true, stdio: ['ignore', log, log], env: ownEnvironment() });
    child.unref();
    if (child.pid === undefined) throw new Error(`could not start ${REGISTRY}`);
    pid = child.pid;
  } finally {
    closeSync(log);
  }
  await writeFile(pidFile(stateDir), `${pid}\n`);
  await waitForRegistry(url, pid, files.logFile);
  return { pid, url, ...files };
}

/** Stop the registry of a stateDir; its storage stays (delete the stateDir to drop it). */
export async function stopRegistry(stateDirInput: string): Promise<void> {
  const stateDir = path.resolve(stateDirInput);
  const pid = recordedPid(stateDir);
  if (pid !== undefined && isOurRegistry(pid, stateDir)) await killAndWait(pid, STOP_TIMEOUT_MS);
  await rm(pidFile(stateDir), { force: true });
}

// ---------------------------------------------------------------- helpers

const storageDir = (stateDir: string) => path.join(stateDir, 'storage');
const configFile = (stateDir: string) => path.join(stateDir, 'config.yml');
const logFile = (stateDir: string) => path.join(stateDir, 'registry.log');
const pidFile = (stateDir: string) => path.join(stateDir, 'registry.pid');

function registryUrl(options: RegistryOptions): string {
  const match = /^(.+):(\d{1,5})$/.exec(options.listen);
  if (!match || match[1] === '') throw new Error(`registry listen address must be host:port, got '${options.listen}'`);
  return `${options.tls ? 'https' : 'http'}://${options.listen}`;
}

/** Settings come from config.yml alone: distribution lets REGISTRY_* variables override it. */
function ownEnvironment(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('REGISTRY_')));
}

function recordedPid(stateDir: string): number | undefined {
  const pid = Number(readFileOr(pidFile(stateDir)).trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/** A live docker-registry serving this stateDir's config (not a recycled pid). */
function isOurRegistry(pid: number, stateDir: string): boolean {
  if (!isAlive(pid)) return false;
  const args = readFileOr(`/proc/${pid}/cmdline`).split('\0');
  return args[0] === REGISTRY && args.includes(configFile(stateDir));
}

/** Ready when /v2/ answers at all (401 with auth is an answer); fail early if it died. */
async function waitForRegistry(url: string, pid: number, log: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let delay = 10;
  while (Date.now() < deadline && isAlive(pid)) {
    if (await answers(`${url}/v2/`)) return;
    await sleep(delay);
    delay = Math.min(delay * 2, 200);
  }
  if (isAlive(pid)) await killAndWait(pid, STOP_TIMEOUT_MS);
  const tail = (await readFile(log, 'utf8').catch(() => '')).trim().split('\n').slice(-20).join('\n');
  throw new Error(`registry at ${url} did not come up${tail ? `:\n${tail}` : ''}`);
}

function answers(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    // Only asks whether our own process serves yet; the certificate is the caller's to trust.
    const request = url.startsWith('https:') ? https.get(url, { rejectUnauthorized: false }) : http.get(url);
    request.setTimeout(2000, () => request.destroy());
    request.once('response', (response) => {
      response.resume();
      resolve(true);
    });
    request.once('error', () => resolve(false));
  });
}
