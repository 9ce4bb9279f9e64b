/**
 * The test-host harness itself: real sshd hosts in namespaces, reached with the OpenSSH
 * client exactly as a user would. Starts its own hosts (own prefix and stateDir), so it does
 * not depend on, or disturb, the hosts a test run shares.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { ORDINARY_BASHRC, readTestHosts, startTestHosts, stopTestHosts, testHostsStatus, type TestHost, type TestHosts } from '../../lab/src/testhosts.js';
import { command } from '../../src/transport/quote.js';
import { inHost, TEST_HOSTS_DIR } from '../harness/hosts.js';

const STATE_DIR = `${TEST_HOSTS_DIR}-self-test`;
const PREFIX = 'tsi';

interface Outcome {
  stdout: string;
  stderr: string;
  code: number;
}

function run(file: string, args: string[]): Promise<Outcome> {
  return new Promise((resolve) => {
    execFile(file, args, (error, stdout, stderr) => {
      resolve({ stdout, stderr, code: error ? (typeof error.code === 'number' ? error.code : 1) : 0 });
    });
  });
}

/** The OpenSSH client, trusting only the harness's known_hosts. */
function sshArgs(hosts: TestHosts, user: string, host: TestHost, script: string, extra: string[] = []): string[] {
  return [
    '-F',
    '/dev/null',
    '-o',
    `UserKnownHostsFile=${hosts.knownHostsFile}`,
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    'ConnectTimeout=10',
    ...extra,
    `${user}@${host.address}`,
    script,
  ];
}

function sshAsRoot(hosts: TestHosts, host: TestHost, script: string): Promise<Outcome> {
  return run('ssh', sshArgs(hosts, 'root', host, script, ['-i', hosts.keyFile, '-o', 'BatchMode=yes']));
}

function sshWithPassword(hosts: TestHosts, host: TestHost, password: string, script: string): Promise<Outcome> {
  const passwordOnly = ['-o', 'PubkeyAuthentication=no', '-o', 'PreferredAuthentications=password'];
  return run('sshpass', ['-p', password, 'ssh', ...sshArgs(hosts, hosts.user.name, host, script, passwordOnly)]);
}

let hosts: TestHosts;

beforeAll(async () => {
  hosts = await startTestHosts({ count: 3, stateDir: STATE_DIR, prefix: PREFIX });
});

afterAll(async () => {
  await stopTestHosts(STATE_DIR);
});

test('every host answers ssh at its own address with its own name, its key pinned in known_hosts', async () => {
  const answers = await Promise.all(hosts.hosts.map((host) => sshAsRoot(hosts, host, 'hostname; id -un')));
  expect(answers.map((answer) => answer.stdout)).toEqual(hosts.hosts.map((host) => `${host.name}\nroot\n`));
  expect(hosts.hosts.map((host) => host.name)).toEqual(['tsi01', 'tsi02', 'tsi03']);
  expect(hosts.hosts[0]!.address).toMatch(/\.11$/);
});

test('starting again with the same count returns the running hosts', async () => {
  const again = await startTestHosts({ count: 3, stateDir: STATE_DIR, prefix: PREFIX });
  expect(again.hosts.map((host) => host.sshdPid)).toEqual(hosts.hosts.map((host) => host.sshdPid));
  expect(testHostsStatus(STATE_DIR)!.every((host) => host.up)).toBe(true);
});

test('a file written on one host is absent on the others and in the root namespace', async () => {
  const file = `/srv/isolation-${randomBytes(6).toString('hex')}`;
  const [first, second] = hosts.hosts;
  expect((await sshAsRoot(hosts, first!, command('sh', '-c', 'echo written > "$1"', 'sh', file))).code).toBe(0);

  expect((await inHost(first!, command('cat', file))).stdout).toBe('written\n');
  expect((await inHost(second!, command('test', '-e', file))).code).toBe(1);
  expect((await sshAsRoot(hosts, second!, command('test', '-e', file))).code).toBe(1);
  expect(existsSync(file)).toBe(false);
});

test('root gets an ordinary .bashrc, not the machine one', async () => {
  const answer = await sshAsRoot(hosts, hosts.hosts[0]!, 'cat ~/.bashrc');
  expect(answer.stdout).toBe(ORDINARY_BASHRC);
  expect(answer.stdout).not.toContain('pyenv');
});

test('deploy logs in with its password and becomes root only with that password', async () => {
  const host = hosts.hosts[1]!;
  const { name, password } = hosts.user;
  const login = await sshWithPassword(hosts, host, password, 'id -un; echo "$HOME"');
  expect(login.stdout).toBe(`${name}\n/home/${name}\n`);

  const withoutPassword = await sshWithPassword(hosts, host, password, 'sudo -n id -u');
  expect(withoutPassword.code).not.toBe(0);
  const withPassword = await sshWithPassword(hosts, host, password, `printf '%s\\n' ${command(password)} | sudo -S -p '' id -u`);
  expect(withPassword.stdout).toBe('0\n');

  const wrongPassword = await sshWithPassword(hosts, host, `${password}x`, 'true');
  expect(wrongPassword.code).not.toBe(0);
});

test('the inventory lists every host with the key and known_hosts', () => {
  const inventory = readFileSync(hosts.inventoryFile, 'utf8');
  expect(inventory).toContain('[testhosts]\n');
  for (const host of hosts.hosts) expect(inventory).toContain(`\n${host.name} ansible_host=${host.address}\n`);
  expect(inventory).toContain('ansible_user=root\n');
  expect(inventory).toContain(`ansible_ssh_private_key_file=${hosts.keyFile}\n`);
  expect(inventory).toContain(`tsrun_known_hosts=${hosts.knownHostsFile}\n`);
});

test('refuses a subnet that is already in use', async () => {
  const subnet = `${hosts.hosts[0]!.address.split('.').slice(0, 3).join('.')}.0/24`;
  const otherDir = `${TEST_HOSTS_DIR}-self-test-collision`;
  await expect(startTestHosts({ count: 1, stateDir: otherDir, prefix: 'tsj', subnet })).rejects.toThrow(
    `refusing to start test hosts: ${subnet} collides with route ${subnet} dev ${PREFIX}br0`,
  );
  expect((await run('ip', ['link', 'show', 'dev', 'tsjbr0'])).code).not.toBe(0);
});

test('refuses a state directory that a host would hide', async () => {
  await expect(startTestHosts({ count: 1, stateDir: '/tmp/test-hosts', prefix: 'tsj' })).rejects.toThrow('state directory /tmp/test-hosts is under /tmp');
});

test('start brings back a set whose sshd died', async () => {
  const victim = hosts.hosts[2]!;
  process.kill(victim.sshdPid, 'SIGKILL');
  // A signal is delivered asynchronously: give the process a moment to die.
  const victimUp = () => testHostsStatus(STATE_DIR)!.find((host) => host.name === victim.name)!.up;
  for (let i = 0; i < 50 && victimUp(); i++) await new Promise((resolve) => setTimeout(resolve, 20));
  expect(victimUp()).toBe(false);

  hosts = await startTestHosts({ count: 3, stateDir: STATE_DIR, prefix: PREFIX });
  expect(testHostsStatus(STATE_DIR)!.every((host) => host.up)).toBe(true);
  expect((await sshAsRoot(hosts, hosts.hosts[2]!, 'hostname')).stdout).toBe(`${victim.name}\n`);
});

test('stop kills the servers and removes namespaces and links; a second stop is a no-op', async () => {
  const pids = hosts.hosts.map((host) => host.sshdPid);
  await stopTestHosts(STATE_DIR);

  expect(pids.filter((pid) => existsSync(`/proc/${pid}`))).toEqual([]);
  expect((await run('ip', ['netns', 'list'])).stdout).not.toMatch(new RegExp(`^${PREFIX}\\d`, 'm'));
  expect((await run('ip', ['link', 'show', 'dev', `${PREFIX}br0`])).code).not.toBe(0);
  expect(readTestHosts(STATE_DIR)).toBeUndefined();
  await expect(stopTestHosts(STATE_DIR)).resolves.toBeUndefined();
});
