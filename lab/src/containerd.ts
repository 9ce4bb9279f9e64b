/**
 * containerd on a lab worker: Debian's containerd (1.6) run as a plain process inside a test
 * host's mount, network and UTS namespaces, so its config, image store, state and socket
 * are the host's own, and a pull it makes leaves from the host's address.
 *
 * The host's files are reached from the root namespace through `/proc/<sshdPid>/root`, the
 * root directory as the host's sshd sees it. The controller-side records (log, pid) live in
 * `stateDir/containerd/<host>/`, outside the directories a host makes private.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readlinkSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import type { TestHost } from './testhosts.js';
import { exists, isAlive, killAndWait, readFileOr, sleep } from './processes.js';

const CONTAINERD = '/usr/bin/containerd';
export const CONTAINERD_CONFIG = '/etc/containerd/config.toml';
export const CONTAINERD_SOCKET = '/run/containerd/containerd.sock';
/** Where containerd (through CRI's `config_path`) and `ctr --hosts-dir` look for hosts.toml. */
export const CERTS_DIR = '/etc/containerd/certs.d';

const READY_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 10_000;

/**
 * A version 2 config with its own root, state and socket, and CRI's registry `config_path`
 * set: the key tsrun's roles set and check on a real node.
 */
export function containerdConfig(): string {
  return [
    'version = 2',
    'root = "/var/lib/containerd"',
    'state = "/run/containerd"',
    '',
    '[grpc]',
    `  address = "${CONTAINERD_SOCKET}"`,
    '',
    '[plugins."io.containerd.grpc.v1.cri".registry]',
    `  config_path = "${CERTS_DIR}"`,
    '',
  ].join('\n');
}

export interface RunningContainerd {
  host: string;
  pid: number;
  /** The socket inside the host (`ctr --address`). */
  socket: string;
  logFile: string;
  /** From spawn until the socket answers. */
  startMs: number;
}

export interface StartContainerdOptions {
  /** Written to the host's /etc/containerd/config.toml when it has none; default containerdConfig(). */
  config?: string;
}

/**
 * Start containerd inside the host's namespaces, or return the one already running for it.
 * A config the host already holds is kept: it is the node's own (a role may have changed it).
 */
export async function startContainerd(host: TestHost, stateDirInput: string, options: StartContainerdOptions = {}): Promise<RunningContainerd> {
  const stateDir = path.resolve(stateDirInput);
  const dir = recordDir(stateDir, host);
  const logFile = path.join(dir, 'containerd.log');
  const running = recordedContainerd(stateDir, host);
  if (running && isOurContainerd(running) && running.namespace === mountNamespace(host.sshdPid)) {
    return { host: host.name, pid: running.pid, socket: CONTAINERD_SOCKET, logFile, startMs: 0 };
  }
  await assertInstalled();
  if (!isAlive(host.sshdPid)) throw new Error(`test host ${host.name} is not running (sshd pid ${host.sshdPid})`);

  const config = inHost(host, CONTAINERD_CONFIG);
  if (!(await exists(config))) {
    await mkdir(path.dirname(config), { recursive: true });
    await writeFile(config, options.config ?? containerdConfig());
  }
  await mkdir(dir, { recursive: true, mode: 0o700 });

  const started = Date.now();
  const log = openSync(logFile, 'w');
  let pid: number;
  try {
    // nsenter execs containerd (no --fork), so the child's pid is containerd's.
    const child = spawn('nsenter', ['-t', String(host.sshdPid), '-m', '-n', '-u', CONTAINERD, '--config', CONTAINERD_CONFIG], {
      detached: true,
      stdio: ['ignore', log, log],
    });
    child.unref();
    if (child.pid === undefined) throw new Error(`could not start containerd on ${host.name}`);
    pid = child.pid;
  } finally {
    closeSync(log);
  }
  // The host's mount namespace goes with the pid: containerd stays recognisable if sshd dies.
  await writeFile(pidFile(stateDir, host), `${pid} ${mountNamespace(host.sshdPid) ?? ''}\n`);
  await waitForSocket(host, pid, logFile);
  return { host: host.name, pid, socket: CONTAINERD_SOCKET, logFile, startMs: Date.now() - started };
}

/** Stop the host's containerd (SIGTERM, then SIGKILL); nothing to do when none runs. */
export async function stopContainerd(host: TestHost, stateDirInput: string): Promise<void> {
  const stateDir = path.resolve(stateDirInput);
  const running = recordedContainerd(stateDir, host);
  if (running && isOurContainerd(running)) await killAndWait(running.pid, STOP_TIMEOUT_MS);
  await rm(pidFile(stateDir, host), { force: true });
}

// ---------------------------------------------------------------- helpers

const recordDir = (stateDir: string, host: TestHost) => path.join(stateDir, 'containerd', host.name);
const pidFile = (stateDir: string, host: TestHost) => path.join(recordDir(stateDir, host), 'containerd.pid');
/** A path inside the host, as seen from the root namespace. */
const inHost = (host: TestHost, absolute: string) => path.join(`/proc/${host.sshdPid}/root`, absolute);

interface Recorded {
  pid: number;
  /** The host's mount namespace (as /proc/PID/ns/mnt reads) when containerd was started. */
  namespace: string;
}

function recordedContainerd(stateDir: string, host: TestHost): Recorded | undefined {
  const [pidText, namespace] = readFileOr(pidFile(stateDir, host)).trim().split(' ');
  const pid = Number(pidText);
  return Number.isInteger(pid) && pid > 0 && namespace ? { pid, namespace } : undefined;
}

/** A live containerd in the mount namespace it was started in (not a recycled pid). */
function isOurContainerd({ pid, namespace }: Recorded): boolean {
  return isAlive(pid) && readFileOr(`/proc/${pid}/comm`).trim() === 'containerd' && mountNamespace(pid) === namespace;
}

function mountNamespace(pid: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/ns/mnt`);
  } catch {
    return undefined;
  }
}

/** Ready when the socket accepts a connection; fail early with the log if containerd died. */
async function waitForSocket(host: TestHost, pid: number, logFile: string): Promise<void> {
  const socket = inHost(host, CONTAINERD_SOCKET);
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let delay = 10;
  while (Date.now() < deadline && isAlive(pid)) {
    if (await accepts(socket)) return;
    await sleep(delay);
    delay = Math.min(delay * 2, 200);
  }
  if (isAlive(pid)) await killAndWait(pid, STOP_TIMEOUT_MS);
  const log = (await readFile(logFile, 'utf8').catch(() => '')).trim().split('\n').slice(-20).join('\n');
  throw new Error(`containerd on ${host.name} did not come up${log ? `:\n${log}` : ''}`);
}

function accepts(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(socketPath);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function assertInstalled(): Promise<void> {
  if (!(await exists(CONTAINERD))) throw new Error('lab workers need containerd: apt-get install -y containerd');
}
