/**
 * A task's `timeout:` on real sshd hosts: the task fails after its limit with Ansible's
 * message, the command is gone from the host (also one run with become), and later tasks
 * run on the same connection; a loop, a task within its limit, a templated limit, and a
 * bad value.
 */
import { execFile } from 'node:child_process';
import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { inHost, testHosts } from '../harness/hosts.js';
import { tsrun, type TsrunRun } from '../harness/tsrun.js';

const hosts = testHosts();
const host = hosts.hosts[0]!;
const sshdLog = path.join(hosts.stateDir, 'hosts', host.name, 'sshd.log');
const authorizedKeys = path.join(hosts.stateDir, 'authorized_keys');
const run = promisify(execFile);
const marker = `tsrun-timeout-${process.pid}`;
const message = (seconds: number): string => `The shell action failed to execute in the expected time frame (${seconds}) and was terminated`;

let dir: string;
let keyFile: string;
let fingerprint: string;
let authorizedLine: string;

// A key of this test's own, so its logins are told apart from other runs on the shared hosts.
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'tsrun-task-timeout-'));
  keyFile = path.join(dir, 'id_timeout');
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'tsrun-timeout-test', '-f', keyFile]);
  authorizedLine = (await readFile(`${keyFile}.pub`, 'utf8')).trim();
  fingerprint = (await run('ssh-keygen', ['-l', '-f', `${keyFile}.pub`])).stdout.split(' ')[1]!;
  await appendFile(authorizedKeys, `${authorizedLine}\n`);
});
afterAll(async () => {
  const lines = (await readFile(authorizedKeys, 'utf8')).split('\n').filter((line) => line !== authorizedLine);
  await writeFile(authorizedKeys, lines.join('\n'));
  await rm(dir, { recursive: true, force: true });
});

const logins = async (): Promise<number> =>
  (await readFile(sshdLog, 'utf8')).split('\n').filter((line) => line.includes('Accepted publickey') && line.includes(fingerprint)).length;

/** The host's processes carrying the marker (the brackets keep pgrep from matching itself). */
const leftOnHost = async (mark = marker): Promise<string> => (await inHost(host, `pgrep -af '${mark.replace('t', '[t]')}' || true`)).stdout.trim();

test('the check for a command left on the host finds one', async () => {
  const control = `${marker}-control`;
  await inHost(host, `sh -c 'sleep 30 # ${control}' >/dev/null 2>&1 &`);
  expect(await leftOnHost(control)).toContain(control);
  await inHost(host, `pkill -f '${control.replace('t', '[t]')}'`);
  expect(await leftOnHost(control)).toBe('');
});

async function runPlaybook(name: string, playbook: string, inventory: string): Promise<TsrunRun & { seconds: number }> {
  const file = path.join(dir, name);
  await writeFile(file, playbook);
  await writeFile(path.join(dir, `${name}.ini`), `${host.name} ansible_host=${host.address} tsrun_known_hosts=${hosts.knownHostsFile} ${inventory}\n`);
  const started = Date.now();
  const result = await tsrun(['run', file, '-i', path.join(dir, `${name}.ini`), '--output', 'json']);
  return { ...result, seconds: (Date.now() - started) / 1000 };
}

const resultsOf = (result: TsrunRun, task: string) => result.results.filter((r) => r.task === task);

describe('a task that runs out of time', () => {
  let result: TsrunRun & { seconds: number };
  let loginsMade: number;
  beforeAll(async () => {
    const before = await logins();
    result = await runPlaybook(
      'timeouts.yml',
      `
- hosts: all
  gather_facts: false
  vars:
    limit: 1
  tasks:
    - name: Hang
      shell: sleep 60 # ${marker}
      timeout: 2
      ignore_errors: true
    - name: After
      command: echo after
    - name: Within
      shell: sleep 1; echo within
      timeout: 5
    - name: Templated
      shell: sleep 60 # ${marker}
      timeout: "{{ limit }}"
      ignore_errors: true
    - name: Loop
      shell: "sleep {{ item }}; echo {{ item }} # ${marker}"
      loop: [0, 60]
      timeout: 2
      ignore_errors: true
    - name: Last
      command: echo last
`,
      `ansible_user=root ansible_ssh_private_key_file=${keyFile}`,
    );
    loginsMade = (await logins()) - before;
  }, 120_000);

  test('fails with Ansible message within seconds, not the command’s 60', () => {
    expect(result.code).toBe(0);
    expect(resultsOf(result, 'Hang')).toMatchObject([{ status: 'failed', result: { failed: true, changed: false, msg: message(2) } }]);
    // 2 + 1 + 2 s of limits, 1 s of work, and the run's own start.
    expect(result.seconds).toBeLessThan(15);
  });

  test('later tasks run on the same connection, and the command is gone from the host', async () => {
    expect(resultsOf(result, 'After')).toMatchObject([{ status: 'changed', result: { stdout: 'after' } }]);
    expect(resultsOf(result, 'Last')).toMatchObject([{ status: 'changed', result: { stdout: 'last' } }]);
    expect(loginsMade).toBe(1);
    expect(await leftOnHost()).toBe('');
  });

  test('a task within its limit is unaffected', () => {
    expect(resultsOf(result, 'Within')).toMatchObject([{ status: 'changed', result: { rc: 0, stdout: 'within' } }]);
  });

  test('a templated limit is rendered', () => {
    expect(resultsOf(result, 'Templated')).toMatchObject([{ status: 'failed', result: { msg: message(1) } }]);
  });

  test('in a loop each item has the limit', () => {
    expect(resultsOf(result, 'Loop')).toMatchObject([
      { status: 'changed', item: 0, result: { stdout: '0' } },
      { status: 'failed', item: 60, result: { failed: true, msg: message(2) } },
    ]);
  });
});

test('with become the command, run as root by sudo, is ended too', async () => {
  const result = await runPlaybook(
    'become.yml',
    `
- hosts: all
  gather_facts: false
  become: true
  tasks:
    - name: Hang
      shell: sleep 60 # ${marker}
      timeout: 2
      ignore_errors: true
    - name: Who
      command: whoami
`,
    `ansible_user=${hosts.user.name} ansible_password=${hosts.user.password} ansible_become_password=${hosts.user.password}`,
  );
  expect(result.code).toBe(0);
  expect(resultsOf(result, 'Hang')).toMatchObject([{ status: 'failed', result: { msg: message(2) } }]);
  expect(resultsOf(result, 'Who')).toMatchObject([{ status: 'changed', result: { stdout: 'root' } }]);
  expect(result.seconds).toBeLessThan(10);
  expect(await leftOnHost()).toBe('');
}, 60_000);

test('a timeout that is not a number of seconds is an input error at its position', async () => {
  const result = await runPlaybook(
    'bad.yml',
    `- hosts: all
  gather_facts: false
  tasks:
    - shell: sleep 1
      timeout: soon
`,
    `ansible_user=root ansible_ssh_private_key_file=${keyFile}`,
  );
  expect(result.code).toBe(1);
  expect(result.stderr).toContain(`${path.join(dir, 'bad.yml')}:5:7: task: 'timeout' expected a whole number of seconds or a template`);
});
