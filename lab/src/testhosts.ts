/**
 * Test hosts: real OpenSSH servers on this machine, each in its own network, mount and UTS
 * namespace, so tsrun's integration tests, benchmark and demo can converge several hosts
 * that each have their own address and their own files.
 *
 * Layout: a bridge `<prefix>br0` in the root namespace holds the gateway `.1`; each host
 * `<prefix>NN` is a network namespace joined to the bridge by a veth pair and addressed
 * `.11`, `.12`, ... Its sshd runs in a private mount namespace where the directories in
 * PRIVATE_DIRS and a few /etc files are bind-mounted from the host's own copy in stateDir.
 * Everything the harness creates is named in `stateDir/state.json`, written before it is
 * created, so `stopTestHosts` can clean up after a crash.
 */
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync } from 'node:fs';
import { chmod, chown, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { z } from 'zod';
// The product as built: the lab is a project of its own (lab/tsconfig.json) that uses its output.
import { command } from '../../dist/transport/quote.js';
import { exists, isAlive, killAndWait, readFileOr } from './processes.js';

/**
 * Ranges tried in order, the first one free of every route and address of this machine
 * wins: a documentation range, then the benchmarking range (RFC 2544). Not 203.0.113.0/24:
 * package registries may be reached through an address in it, which a bridge would hide.
 */
export const DEFAULT_SUBNETS = ['198.51.100.0/24', '198.18.0.0/24', '198.18.1.0/24', '198.19.0.0/24'] as const;

/**
 * Directories every host gets its own copy of. The one list to grow when a lab needs more
 * private state (a Kubernetes lab adds /etc/containerd, /etc/rancher, /var/lib/...).
 */
export const PRIVATE_DIRS: ReadonlyArray<{ path: string; mode: number }> = [
  { path: '/root', mode: 0o700 },
  { path: '/tmp', mode: 0o1777 },
  { path: '/var/tmp', mode: 0o1777 },
  { path: '/srv', mode: 0o755 },
  { path: '/opt', mode: 0o755 },
  { path: '/home', mode: 0o755 },
  { path: '/etc/tsrun-test', mode: 0o755 },
  // Init scripts a test installs (the service module on hosts without systemd).
  { path: '/etc/init.d', mode: 0o755 },
  // Container runtimes' configuration and state (containerd, k3s, Docker), and kubectl's.
  { path: '/etc/containerd', mode: 0o755 },
  { path: '/var/lib/containerd', mode: 0o711 },
  { path: '/run/containerd', mode: 0o711 },
  { path: '/etc/rancher', mode: 0o755 },
  { path: '/var/lib/rancher', mode: 0o755 },
  { path: '/etc/docker', mode: 0o755 },
  // sudo's cached credentials: a password given on one host must not count on another.
  { path: '/run/sudo', mode: 0o711 },
];

/** /etc files every host gets its own copy of (the deploy user, its hostname). */
const PRIVATE_ETC_FILES = ['passwd', 'shadow', 'group', 'gshadow', 'hosts'] as const;

/** An ordinary shell start-up, so a remote command does not pay for this machine's. */
export const ORDINARY_BASHRC = `# ~/.bashrc: executed by bash(1) for non-login shells.

# If not running interactively, don't do anything
case $- in
    *i*) ;;
      *) return;;
esac

HISTCONTROL=ignoreboth
shopt -s histappend checkwinsize
PS1='\\u@\\h:\\w\\$ '
alias ls='ls --color=auto'
`;

const ORDINARY_PROFILE = `# ~/.profile: executed by Bourne-compatible login shells.

if [ "$BASH" ]; then
  if [ -f ~/.bashrc ]; then
    . ~/.bashrc
  fi
fi
`;

const SSHD = '/usr/sbin/sshd';
const DEPLOY_USER = 'deploy';
const READY_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 5_000;

const TestHostSchema = z.object({
  name: z.string(),
  address: z.string(),
  netns: z.string(),
  /** 0 while the host is being created. */
  sshdPid: z.number().int().nonnegative(),
});
export type TestHost = z.infer<typeof TestHostSchema>;

const TestHostsSchema = z.object({
  hosts: z.array(TestHostSchema),
  /** Private key for root (and deploy) on every host. */
  keyFile: z.string(),
  knownHostsFile: z.string(),
  inventoryFile: z.string(),
  stateDir: z.string(),
  /** The unprivileged user that logs in with a password and becomes root with sudo. */
  user: z.object({ name: z.string(), password: z.string() }),
});
export type TestHosts = z.infer<typeof TestHostsSchema>;

const StateSchema = TestHostsSchema.extend({
  prefix: z.string(),
  subnet: z.string(),
  bridge: z.string(),
});
type State = z.infer<typeof StateSchema>;

export interface StartOptions {
  count: number;
  stateDir: string;
  /** Names the bridge (`<prefix>br0`) and hosts (`<prefix>01`, ...); at most 8 characters. */
  prefix?: string;
  /** A /24 such as 198.51.100.0/24; by default the first of DEFAULT_SUBNETS that is free. */
  subnet?: string;
}

export interface HostStatus extends TestHost {
  up: boolean;
}

// ---------------------------------------------------------------- public API

/**
 * Bring up `count` hosts, or return the ones already running from this stateDir with the
 * same count and prefix. A stateDir holding a different or half-dead set is stopped first.
 */
export async function startTestHosts(options: StartOptions): Promise<TestHosts> {
  const prefix = options.prefix ?? 'tsh';
  const stateDir = path.resolve(options.stateDir);
  validateOptions(options.count, prefix, stateDir, options.subnet);

  const existing = readState(stateDir);
  if (existing) {
    const same = existing.prefix === prefix && existing.hosts.length === options.count && (options.subnet === undefined || options.subnet === existing.subnet);
    if (same && existing.hosts.every((host) => isOurSshd(host, stateDir))) return existing;
  }

  // Everything that can refuse is checked before a running set is stopped for a new one.
  await assertInstalled();
  const bridge = `${prefix}br0`;
  if (existing?.bridge !== bridge && (await linkExists(bridge))) {
    throw new Error(
      `network interface ${bridge} already exists and ${stateDir} does not own it: ` +
        `stop the test hosts that use prefix '${prefix}' or choose another prefix`,
    );
  }
  const ownBridges = existing ? [bridge, existing.bridge] : [bridge];
  const subnet = await chooseSubnet(options.subnet, ownBridges);
  if (existing) await stopTestHosts(stateDir);
  const state = planState(stateDir, prefix, subnet, bridge, options.count);

  await rm(hostsDir(stateDir), { recursive: true, force: true });
  await mkdir(hostsDir(stateDir), { recursive: true, mode: 0o700 });
  // Written before anything exists, so a crash part-way can still be cleaned up.
  await writeState(state);
  try {
    await prepareFiles(state);
    await createNetwork(state);
    await mkdir('/run/sshd', { recursive: true, mode: 0o755 }); // sshd's privilege separation dir
    for (const host of state.hosts) host.sshdPid = spawnSshd(state, host);
    await writeState(state);
    await Promise.all(state.hosts.map((host) => waitForSsh(state, host)));
    await writeKnownHosts(state);
    await writeInventory(state);
  } catch (error) {
    await stopTestHosts(stateDir).catch(() => undefined);
    throw error;
  }
  return state;
}

/**
 * Stop the hosts of a stateDir: kill every process in their namespaces, delete the
 * namespaces, veths and the bridge by name, and remove the generated files. Works after a
 * crash (it needs only the state file); a second call is a no-op.
 */
export async function stopTestHosts(stateDirInput: string): Promise<void> {
  const stateDir = path.resolve(stateDirInput);
  const state = readState(stateDir);
  if (!state) return;

  const pids = new Set<number>();
  for (const host of state.hosts) {
    if (isOurSshd(host, stateDir)) pids.add(host.sshdPid);
    // Session processes started by logins keep the namespaces alive: they go too.
    for (const pid of await netnsPids(host.netns)) pids.add(pid);
  }
  await killAndWait([...pids], STOP_TIMEOUT_MS);

  const deletions = [
    ...state.hosts.map((host) => `netns del ${host.netns}`),
    ...state.hosts.map((host) => `link del ${vethName(host)}`),
    `link del ${state.bridge}`,
  ];
  // -force goes on past objects that are already gone; what remains is checked below.
  await run('ip', ['-force', '-batch', '-'], { input: deletions.join('\n') + '\n', allowFailure: true });
  if (await linkExists(state.bridge)) throw new Error(`could not delete bridge ${state.bridge}`);

  await Promise.all(
    [hostsDir(stateDir), state.keyFile, `${state.keyFile}.pub`, authorizedKeysFile(stateDir), state.knownHostsFile, state.inventoryFile].map((file) =>
      rm(file, { recursive: true, force: true }),
    ),
  );
  await rm(stateFile(stateDir), { force: true });
}

/** The hosts recorded in a stateDir, or undefined when none were started there. */
export function readTestHosts(stateDir: string): TestHosts | undefined {
  return readState(path.resolve(stateDir));
}

/** Each recorded host and whether its sshd is running; undefined when none were started. */
export function testHostsStatus(stateDirInput: string): HostStatus[] | undefined {
  const stateDir = path.resolve(stateDirInput);
  const state = readState(stateDir);
  return state?.hosts.map((host) => ({ ...host, up: isOurSshd(host, stateDir) }));
}

// ---------------------------------------------------------------- validation and planning

function validateOptions(count: number, prefix: string, stateDir: string, subnet: string | undefined): void {
  if (!Number.isInteger(count) || count < 1 || count > 99) {
    throw new Error(`count must be a whole number from 1 to 99, got ${count}`);
  }
  // Interface names are limited to 15 characters: `<prefix>br0` and `<prefix>NNv` fit.
  if (!/^[a-z][a-z0-9]{0,7}$/.test(prefix)) {
    throw new Error(`prefix must be 1-8 lowercase letters or digits starting with a letter, got '${prefix}'`);
  }
  if (/[\s"'\\#]/.test(stateDir)) {
    throw new Error(`state directory must not contain spaces, quotes, backslashes or '#' (it goes into sshd_config and the inventory): ${stateDir}`);
  }
  // Inside a host those directories are replaced by private copies, hiding the stateDir.
  for (const dir of [...PRIVATE_DIRS.map((entry) => entry.path), '/etc/sudoers.d']) {
    if (stateDir === dir || stateDir.startsWith(`${dir}/`)) {
      throw new Error(`state directory ${stateDir} is under ${dir}, which each test host replaces with its own: choose another directory`);
    }
  }
  if (subnet !== undefined) parseSubnet(subnet);
}

/** The first three octets of a /24 such as "198.51.100.0/24". */
function parseSubnet(subnet: string): string {
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.0\/24$/.exec(subnet);
  if (!match || match.slice(1).some((octet) => Number(octet) > 255)) {
    throw new Error(`subnet must be a /24 written like 198.51.100.0/24, got '${subnet}'`);
  }
  return match.slice(1, 4).join('.');
}

function planState(stateDir: string, prefix: string, subnet: string, bridge: string, count: number): State {
  const base = parseSubnet(subnet);
  const hosts = Array.from({ length: count }, (_, index) => {
    const name = `${prefix}${String(index + 1).padStart(2, '0')}`;
    return { name, address: `${base}.${11 + index}`, netns: name, sshdPid: 0 };
  });
  return {
    hosts,
    keyFile: path.join(stateDir, 'id_ed25519'),
    knownHostsFile: path.join(stateDir, 'known_hosts'),
    inventoryFile: path.join(stateDir, 'hosts.ini'),
    stateDir,
    user: { name: DEPLOY_USER, password: randomBytes(9).toString('base64url') },
    prefix,
    subnet,
    bridge,
  };
}

async function assertInstalled(): Promise<void> {
  const missing: string[] = [];
  if (!(await exists(SSHD))) missing.push('openssh-server');
  if (!(await exists('/etc/sudoers.d'))) missing.push('sudo');
  if (!(await exists('/usr/bin/ssh-keygen'))) missing.push('openssh-client');
  if (missing.length > 0) {
    throw new Error(`test hosts need ${missing.join(', ')}: apt-get install -y ${missing.join(' ')}`);
  }
}

// ---------------------------------------------------------------- address collisions

async function chooseSubnet(requested: string | undefined, ownBridges: string[]): Promise<string> {
  const candidates = requested ? [requested] : [...DEFAULT_SUBNETS];
  const taken = await networksInUse(ownBridges);
  const refusals: string[] = [];
  for (const subnet of candidates) {
    const clash = taken.find((used) => overlaps(subnet, used.cidr));
    if (!clash) return subnet;
    refusals.push(`${subnet} collides with ${clash.what}`);
  }
  throw new Error(`refusing to start test hosts: ${refusals.join('; ')}. Pass a free /24 as subnet`);
}

/** Every route and IPv4 address on this machine, except those on the harness's own bridges. */
async function networksInUse(ownBridges: string[]): Promise<Array<{ cidr: string; what: string }>> {
  const routes = JSON.parse(await run('ip', ['-j', '-4', 'route', 'show', 'table', 'all'])) as Array<{
    dst: string;
    dev?: string;
    table?: string;
  }>;
  const links = JSON.parse(await run('ip', ['-j', '-4', 'addr'])) as Array<{
    ifname: string;
    addr_info?: Array<{ local: string; prefixlen: number }>;
  }>;
  const used: Array<{ cidr: string; what: string }> = [];
  for (const route of routes) {
    if (route.dst === 'default' || (route.dev !== undefined && ownBridges.includes(route.dev))) continue;
    const where = [route.dev && `dev ${route.dev}`, route.table && `table ${route.table}`].filter(Boolean).join(' ');
    used.push({ cidr: route.dst, what: `route ${route.dst} ${where}`.trim() });
  }
  for (const link of links) {
    if (ownBridges.includes(link.ifname)) continue;
    for (const info of link.addr_info ?? []) {
      used.push({ cidr: `${info.local}/${info.prefixlen}`, what: `address ${info.local}/${info.prefixlen} on ${link.ifname}` });
    }
  }
  return used;
}

function parseCidr(cidr: string): { network: number; bits: number } | undefined {
  const [address, bitsText] = cidr.split('/');
  const octets = (address ?? '').split('.').map(Number);
  if (octets.length !== 4 || octets.some((octet) => !Number.isInteger(octet) || octet < 0 || octet > 255)) return undefined;
  const bits = bitsText === undefined ? 32 : Number(bitsText);
  const value = octets.reduce((sum, octet) => sum * 256 + octet, 0);
  return { network: value, bits };
}

/** Whether two IPv4 networks share any address. */
function overlaps(a: string, b: string): boolean {
  const left = parseCidr(a);
  const right = parseCidr(b);
  if (!left || !right) return false;
  const bits = Math.min(left.bits, right.bits);
  const size = 2 ** (32 - bits);
  return Math.floor(left.network / size) === Math.floor(right.network / size);
}

// ---------------------------------------------------------------- per-host files

const stateFile = (stateDir: string) => path.join(stateDir, 'state.json');
const hostsDir = (stateDir: string) => path.join(stateDir, 'hosts');
const hostDir = (stateDir: string, host: TestHost) => path.join(hostsDir(stateDir), host.name);
const authorizedKeysFile = (stateDir: string) => path.join(stateDir, 'authorized_keys');
const vethName = (host: TestHost) => `${host.name}v`;
const sshdConfigFile = (stateDir: string, host: TestHost) => path.join(hostDir(stateDir, host), 'sshd_config');
/** Where the host's private copy of an absolute path lives. */
const privatePath = (stateDir: string, host: TestHost, absolute: string) => path.join(hostDir(stateDir, host), 'fs', absolute);
const etcCopy = (stateDir: string, host: TestHost, name: string) => path.join(hostDir(stateDir, host), 'etc', name);

async function prepareFiles(state: State): Promise<void> {
  const { stateDir } = state;
  await Promise.all(state.hosts.map((host) => mkdir(hostDir(stateDir, host), { recursive: true })));
  // Keys are the slow part of preparing: generate them all at once.
  const [, , passwordHash] = await Promise.all([
    generateKey(state.keyFile, 'tsrun-testhosts'),
    Promise.all(state.hosts.map((host) => generateKey(path.join(hostDir(stateDir, host), 'ssh_host_ed25519_key'), host.name))),
    hashPassword(state.user.password),
  ]);
  await writeFile(authorizedKeysFile(stateDir), await readFile(`${state.keyFile}.pub`), { mode: 0o600 });

  const ids = await freeUserIds();
  const etc = await readBaseEtc();
  // Mount points must exist on the real file system (they stay empty there).
  await Promise.all(PRIVATE_DIRS.map((dir) => mkdir(dir.path, { recursive: true })));
  await Promise.all(state.hosts.map((host) => prepareHostFiles(state, host, etc, ids, passwordHash)));
}

async function prepareHostFiles(
  state: State,
  host: TestHost,
  etc: Record<(typeof PRIVATE_ETC_FILES)[number], string>,
  ids: { uid: number; gid: number },
  passwordHash: string,
): Promise<void> {
  const { stateDir } = state;
  for (const dir of PRIVATE_DIRS) {
    const copy = privatePath(stateDir, host, dir.path);
    await mkdir(copy, { recursive: true });
    await chmodExact(copy, dir.mode);
  }
  const root = privatePath(stateDir, host, '/root');
  await writeFile(path.join(root, '.bashrc'), ORDINARY_BASHRC);
  await writeFile(path.join(root, '.profile'), ORDINARY_PROFILE);

  const home = privatePath(stateDir, host, `/home/${DEPLOY_USER}`);
  await mkdir(home, { mode: 0o755 });
  await writeFile(path.join(home, '.bashrc'), ORDINARY_BASHRC);
  await writeFile(path.join(home, '.profile'), ORDINARY_PROFILE);
  for (const file of [home, path.join(home, '.bashrc'), path.join(home, '.profile')]) await chown(file, ids.uid, ids.gid);

  await mkdir(path.join(hostDir(stateDir, host), 'etc'), { recursive: true });
  const days = Math.floor(Date.now() / 86_400_000);
  const peers = state.hosts.map((peer) => `${peer.address}\t${peer.name}`).join('\n');
  const additions: Record<(typeof PRIVATE_ETC_FILES)[number], string> = {
    passwd: `${DEPLOY_USER}:x:${ids.uid}:${ids.gid}:tsrun test user:/home/${DEPLOY_USER}:/bin/bash`,
    shadow: `${DEPLOY_USER}:${passwordHash}:${days}:0:99999:7:::`,
    group: `${DEPLOY_USER}:x:${ids.gid}:`,
    gshadow: `${DEPLOY_USER}:!::`,
    // Its own name resolves locally, so sudo does not wait on DNS the namespace cannot reach.
    hosts: `127.0.1.1\t${host.name}\n${peers}`,
  };
  const modes = { passwd: 0o644, shadow: 0o640, group: 0o644, gshadow: 0o640, hosts: 0o644 };
  for (const name of PRIVATE_ETC_FILES) {
    const base = etc[name].endsWith('\n') || etc[name] === '' ? etc[name] : `${etc[name]}\n`;
    await writeFile(etcCopy(stateDir, host, name), `${base}${additions[name]}\n`, { mode: modes[name] });
  }
  const sudoers = etcCopy(stateDir, host, 'sudoers.d');
  await mkdir(sudoers, { mode: 0o755 });
  await writeFile(path.join(sudoers, DEPLOY_USER), `${DEPLOY_USER} ALL=(ALL) ALL\n`, { mode: 0o440 });

  await writeFile(sshdConfigFile(stateDir, host), sshdConfig(state, host));
}

function sshdConfig(state: State, host: TestHost): string {
  const dir = hostDir(state.stateDir, host);
  return [
    `# tsrun test host ${host.name}`,
    `ListenAddress ${host.address}:22`,
    `HostKey ${path.join(dir, 'ssh_host_ed25519_key')}`,
    `PidFile ${path.join(dir, 'sshd.pid')}`,
    `AuthorizedKeysFile ${authorizedKeysFile(state.stateDir)}`,
    'PermitRootLogin prohibit-password',
    'UsePAM no',
    'PasswordAuthentication yes',
    'KbdInteractiveAuthentication no',
    'MaxSessions 100',
    'MaxStartups 100:30:200',
    // The key files live in stateDir, wherever a caller puts it; their parents' modes are not ours to judge.
    'StrictModes no',
    'UseDNS no',
    'PrintMotd no',
    'PrintLastLog no',
    'AcceptEnv LANG LC_*',
    'Subsystem sftp internal-sftp',
    '',
  ].join('\n');
}

async function readBaseEtc(): Promise<Record<(typeof PRIVATE_ETC_FILES)[number], string>> {
  const entries = await Promise.all(PRIVATE_ETC_FILES.map(async (name) => [name, await readFile(path.join('/etc', name), 'utf8').catch(() => '')] as const));
  return Object.fromEntries(entries) as Record<(typeof PRIVATE_ETC_FILES)[number], string>;
}

/** A uid and gid from 1000 up that this machine does not use (both the same when possible). */
async function freeUserIds(): Promise<{ uid: number; gid: number }> {
  const idsIn = async (file: string, field: number) =>
    new Set(
      (await readFile(file, 'utf8'))
        .split('\n')
        .map((line) => Number(line.split(':')[field]))
        .filter(Number.isInteger),
    );
  const uids = await idsIn('/etc/passwd', 2);
  const gids = await idsIn('/etc/group', 2);
  let id = 1000;
  while (uids.has(id) || gids.has(id)) id++;
  return { uid: id, gid: id };
}

async function generateKey(file: string, comment: string): Promise<void> {
  await rm(file, { force: true });
  await rm(`${file}.pub`, { force: true });
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', file]);
}

async function hashPassword(password: string): Promise<string> {
  return (await run('openssl', ['passwd', '-6', '-stdin'], { input: `${password}\n` })).trim();
}

/** mkdir's mode is filtered by the umask; a sticky /tmp needs the exact bits. */
function chmodExact(file: string, mode: number): Promise<void> {
  return chmod(file, mode);
}

// ---------------------------------------------------------------- network

async function createNetwork(state: State): Promise<void> {
  const base = parseSubnet(state.subnet);
  const root = [
    ...state.hosts.map((host) => `netns add ${host.netns}`),
    `link add ${state.bridge} type bridge`,
    `addr add ${base}.1/24 dev ${state.bridge}`,
    `link set ${state.bridge} up`,
    ...state.hosts.flatMap((host) => [
      `link add ${vethName(host)} type veth peer name eth0 netns ${host.netns}`,
      `link set ${vethName(host)} master ${state.bridge}`,
      `link set ${vethName(host)} up`,
    ]),
  ];
  await run('ip', ['-batch', '-'], { input: root.join('\n') + '\n' });
  // No default route: the hosts reach the controller at .1, and anything else fails at
  // once instead of timing out.
  await Promise.all(
    state.hosts.map((host) =>
      run('ip', ['-n', host.netns, '-batch', '-'], {
        input: ['link set lo up', `addr add ${host.address}/24 dev eth0`, 'link set eth0 up', ''].join('\n'),
      }),
    ),
  );
}

async function linkExists(name: string): Promise<boolean> {
  const result = await run('ip', ['link', 'show', 'dev', name], { allowFailure: true, withStatus: true });
  return result.code === 0;
}

async function netnsPids(netns: string): Promise<number[]> {
  const output = await run('ip', ['netns', 'pids', netns], { allowFailure: true });
  return output
    .split('\n')
    .map(Number)
    .filter((pid) => Number.isInteger(pid) && pid > 0);
}

// ---------------------------------------------------------------- sshd

/** The host's sshd, in its network namespace and a private mount and UTS namespace. */
function spawnSshd(state: State, host: TestHost): number {
  const dir = hostDir(state.stateDir, host);
  const binds = [
    ...PRIVATE_DIRS.map((entry) => [privatePath(state.stateDir, host, entry.path), entry.path]),
    ...PRIVATE_ETC_FILES.map((name) => [etcCopy(state.stateDir, host, name), `/etc/${name}`]),
    [etcCopy(state.stateDir, host, 'sudoers.d'), '/etc/sudoers.d'],
  ];
  const script = [
    'set -e',
    command('hostname', host.name),
    ...binds.map(([source, target]) => command('mount', '--bind', source!, target!)),
    `exec ${command(SSHD, '-D', '-f', sshdConfigFile(state.stateDir, host), '-E', path.join(dir, 'sshd.log'))}`,
  ].join('\n');
  const startLog = openSync(path.join(dir, 'start.log'), 'w');
  try {
    // Every step execs the next, so the child's pid ends up being sshd's.
    const child = spawn('ip', ['netns', 'exec', host.netns, 'unshare', '--mount', '--uts', '--propagation', 'private', 'sh', '-c', script], {
      detached: true,
      stdio: ['ignore', startLog, startLog],
    });
    child.unref();
    if (child.pid === undefined) throw new Error(`could not start sshd for ${host.name}`);
    return child.pid;
  } finally {
    closeSync(startLog);
  }
}

/** Wait until the host's sshd sends its banner; fail early with its logs if it died. */
async function waitForSsh(state: State, host: TestHost): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let delay = 10;
  while (Date.now() < deadline) {
    if (await sshBanner(host.address)) {
      if (isOurSshd(host, state.stateDir)) return;
      break;
    }
    if (!isAlive(host.sshdPid)) break;
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(delay * 2, 200);
  }
  const dir = hostDir(state.stateDir, host);
  const logs = ['start.log', 'sshd.log']
    .map((name) => readFileOr(path.join(dir, name)).trim())
    .filter(Boolean)
    .join('\n');
  throw new Error(`sshd of test host ${host.name} (${host.address}) did not come up${logs ? `:\n${logs}` : ''}`);
}

function sshBanner(address: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: address, port: 22 });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(2000, () => done(false));
    socket.once('data', (chunk: Buffer) => done(chunk.toString('latin1').startsWith('SSH-')));
    socket.once('error', () => done(false));
    socket.once('close', () => done(false));
  });
}

/** Whether the host's recorded pid is a live sshd running its config (not a recycled pid). */
function isOurSshd(host: TestHost, stateDir: string): boolean {
  if (!isAlive(host.sshdPid)) return false;
  if (readFileOr(`/proc/${host.sshdPid}/comm`).trim() !== 'sshd') return false;
  // sshd rewrites its title to "sshd: /usr/sbin/sshd -D -f <config> ... [listener] ...".
  const title = readFileOr(`/proc/${host.sshdPid}/cmdline`).replace(/\0/g, ' ');
  return title.includes(` -f ${sshdConfigFile(stateDir, host)} `);
}

// ---------------------------------------------------------------- state, inventory, known_hosts

function readState(stateDir: string): State | undefined {
  const text = readFileOr(stateFile(stateDir));
  if (text === '') return undefined;
  const parsed = StateSchema.safeParse(JSON.parse(text));
  if (!parsed.success) {
    throw new Error(`${stateFile(stateDir)} is not a test-hosts state file: ${parsed.error.message}`);
  }
  return parsed.data;
}

async function writeState(state: State): Promise<void> {
  const file = stateFile(state.stateDir);
  await writeFile(`${file}.tmp`, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  await rename(`${file}.tmp`, file);
}

async function writeKnownHosts(state: State): Promise<void> {
  const lines = await Promise.all(
    state.hosts.map(async (host) => {
      const [type, key] = (await readFile(path.join(hostDir(state.stateDir, host), 'ssh_host_ed25519_key.pub'), 'utf8')).split(' ');
      return `${host.address} ${type} ${key}`;
    }),
  );
  await writeFile(state.knownHostsFile, `${lines.join('\n')}\n`);
}

async function writeInventory(state: State): Promise<void> {
  const lines = [
    '# Test hosts: written by tsrun testhosts; regenerated on every start.',
    '[testhosts]',
    ...state.hosts.map((host) => `${host.name} ansible_host=${host.address}`),
    '',
    '[testhosts:vars]',
    'ansible_user=root',
    `ansible_ssh_private_key_file=${state.keyFile}`,
    `tsrun_known_hosts=${state.knownHostsFile}`,
    '',
  ];
  await writeFile(state.inventoryFile, lines.join('\n'));
}

interface RunOptions {
  input?: string;
  /** Resolve with the output even when the command fails. */
  allowFailure?: boolean;
}

function run(file: string, args: string[], options: RunOptions & { withStatus: true }): Promise<{ stdout: string; code: number }>;
function run(file: string, args: string[], options?: RunOptions): Promise<string>;
function run(file: string, args: string[], options: RunOptions & { withStatus?: boolean } = {}): Promise<string | { stdout: string; code: number }> {
  return new Promise((resolve, reject) => {
    const child = execFile(file, args, { maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      if (error && !options.allowFailure) {
        reject(new Error(`${command(file, ...args)} failed: ${stderr.trim() || error.message}`));
        return;
      }
      resolve(options.withStatus ? { stdout, code } : stdout);
    });
    // A command that exits without reading its input must not crash us with EPIPE.
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(options.input ?? '');
  });
}
