/**
 * Hosts that never become usable SSH servers, and one that stops answering mid-run: each
 * is counted unreachable, and every healthy host still runs every task.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { testHosts } from '../harness/hosts.js';
import { tsrun, type TsrunRun } from '../harness/tsrun.js';

const hosts = testHosts();
const run = promisify(execFile);

/** How each fake server treats a connection. */
const behaviours: Record<string, (socket: net.Socket) => void> = {
  'never-speaks': () => undefined,
  'closes-at-once': (socket) => socket.destroy(),
  resets: (socket) => socket.resetAndDestroy(),
  'speaks-http': (socket) => socket.end('HTTP/1.1 400 Bad Request\r\n\r\n'),
  'banner-then-silence': (socket) => socket.write('SSH-2.0-OpenSSH_9.2\r\n'),
  'banner-then-close': (socket) => socket.end('SSH-2.0-OpenSSH_9.2\r\n'),
  'closes-after-a-second': (socket) => setTimeout(() => socket.destroy(), 1000),
  'bad-key-exchange': (socket) => socket.write(Buffer.from('SSH-2.0-x\r\n\x00\x00\x00\x0c\x0a\x14junkjunkjunkjunk', 'latin1')),
};

let dir: string;
const servers: net.Server[] = [];
const ports: Record<string, number> = {};

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'tsrun-unreachable-'));
  for (const [name, behaviour] of Object.entries(behaviours)) {
    const server = net.createServer((socket) => {
      socket.on('error', () => undefined);
      behaviour(socket);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers.push(server);
    ports[name] = (server.address() as net.AddressInfo).port;
  }
  // A port nothing listens on: bound, then closed.
  const closed = net.createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  ports.refuses = (closed.address() as net.AddressInfo).port;
  await new Promise((resolve) => closed.close(resolve));
});
afterAll(async () => {
  for (const server of servers) server.close();
  await rm(dir, { recursive: true, force: true });
});

async function inventory(name: string, extra: string[]): Promise<string> {
  const file = path.join(dir, `${name}.ini`);
  const lines = [
    ...extra,
    ...hosts.hosts.map((host) => `${host.name} ansible_host=${host.address}`),
    '[all:vars]',
    'ansible_user=root',
    `ansible_ssh_private_key_file=${hosts.keyFile}`,
    `tsrun_known_hosts=${hosts.knownHostsFile}`,
  ];
  await writeFile(file, `${lines.join('\n')}\n`);
  return file;
}

async function playbook(name: string, tasks: string): Promise<string> {
  const file = path.join(dir, `${name}.yml`);
  await writeFile(file, `- hosts: all\n  gather_facts: false\n  tasks:\n${tasks}`);
  return file;
}

const stdoutOf = (result: TsrunRun, task: string): Record<string, unknown> =>
  Object.fromEntries(result.results.filter((r) => r.task === task).map((r) => [r.host, r.result.stdout]));

test('servers that never speak, close, reset or speak nonsense are unreachable; the others run every task', async () => {
  const fakes = Object.entries(ports).map(([name, port]) => `${name} ansible_host=127.0.0.1 ansible_port=${port} tsrun_host_key_checking=off`);
  const tasks =
    '    - name: First\n      command: echo one\n      changed_when: false\n    - name: Second\n      command: echo two\n      changed_when: false\n';
  const result = await tsrun(['run', await playbook('two-tasks', tasks), '-i', await inventory('fakes', fakes), '-T', '3', '--output', 'json']);
  expect(result.stderr).not.toMatch(/Unhandled|at .*\.js:\d+/);
  expect(result.code).toBe(4);
  for (const name of Object.keys(ports)) expect([name, result.recap?.[name]]).toEqual([name, expect.objectContaining({ unreachable: 1, ok: 0 })]);
  for (const host of hosts.hosts) expect(result.recap?.[host.name]).toMatchObject({ ok: 2, unreachable: 0, failed: 0 });
  const healthy = Object.fromEntries(hosts.hosts.map((host) => [host.name, 'two']));
  expect(stdoutOf(result, 'Second')).toEqual(healthy);
});

/** The sshd processes serving the connection that runs `pid`: its sshd ancestors below the host's listener. */
async function sshdAncestors(pid: number, listener: number): Promise<number[]> {
  const found: number[] = [];
  for (let current = pid; current > 1 && current !== listener; ) {
    const stat = await readFile(`/proc/${current}/stat`, 'utf8');
    const [, comm, rest] = /^\d+ \((.*)\) (.*)$/s.exec(stat)!;
    if (comm === 'sshd') found.push(current);
    current = Number(rest!.split(' ')[1]);
  }
  return found;
}

test('a host that stops answering mid-run is unreachable within seconds; the others finish', async () => {
  const stalling = hosts.hosts[0]!;
  // A sleep no other test runs, to find this run's process on the stalling host.
  const marker = 'sleep 6.173';
  const tasks = [
    '    - name: Before',
    '      command: echo before',
    '      changed_when: false',
    '    - name: Stall here',
    `      shell: "{{ '${marker}' if inventory_hostname == '${stalling.name}' else 'true' }}"`,
    '      changed_when: false',
    '    - name: After',
    '      command: echo after',
    '      changed_when: false',
    '',
  ].join('\n');
  const started = Date.now();
  const running = tsrun(['run', await playbook('stall', tasks), '-i', await inventory('stall', []), '--output', 'json']);
  let stopped: number[] = [];
  let sleeper: number | undefined;
  for (let tries = 0; tries < 200 && stopped.length === 0; tries++) {
    const found = await run('pgrep', ['-f', `^${marker}$`]).catch(() => ({ stdout: '' }));
    sleeper = Number(found.stdout.trim().split('\n')[0]) || undefined;
    if (sleeper) {
      stopped = await sshdAncestors(sleeper, Number(stalling.sshdPid));
      for (const pid of stopped) process.kill(pid, 'SIGSTOP');
    } else {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  try {
    expect(stopped.length).toBeGreaterThan(0);
    const result = await running;
    const seconds = (Date.now() - started) / 1000;
    expect(result.code).toBe(4);
    expect(result.recap?.[stalling.name]).toMatchObject({ ok: 1, unreachable: 1 });
    const others = hosts.hosts.filter((host) => host !== stalling);
    for (const host of others) expect(result.recap?.[host.name]).toMatchObject({ ok: 3, unreachable: 0, failed: 0 });
    expect(Object.keys(stdoutOf(result, 'After')).sort()).toEqual(others.map((host) => host.name).sort());
    // Keepalives give a silent host up in about 15 s; the old setting held the play a minute.
    expect(seconds).toBeLessThan(40);
  } finally {
    for (const pid of stopped.reverse()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}, 90_000);
