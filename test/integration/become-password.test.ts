/**
 * A become password goes to sudo only when sudo asks for it: never into a file written
 * with become, never into a command's standard input, whether sudo has the credentials
 * cached (every command after the first on a connection) or not.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { inHost, testHosts } from '../harness/hosts.js';
import { tsrun, type TsrunRun } from '../harness/tsrun.js';

const hosts = testHosts();
const host = hosts.hosts[0]!;
const password = hosts.user.password;
const root = '/srv/tsrun-become-password';
const sshdLog = path.join(hosts.stateDir, 'hosts', host.name, 'sshd.log');

const playbook = `- hosts: all
  gather_facts: false
  become: yes
  tasks:
    - name: Directory
      file: { path: ${root}, state: directory, mode: "0755" }
    - name: Files
      copy: { dest: "${root}/{{ item }}.txt", content: "content of {{ item }}\\n" }
      loop: [one, two, three, four]
    - name: Lines
      lineinfile: { path: ${root}/lines.conf, line: "key=value", create: yes }
    - name: Block
      blockinfile: { path: ${root}/block.conf, block: "inside", create: yes }
    - name: A command that reads its input
      command: cat
      args: { stdin: "the task's own input" }
      register: echoed
      changed_when: false
    - name: A shell that reads its input
      shell: wc -c
      args: { stdin: "12345" }
      register: counted
      changed_when: false
    - name: A command that gets no input
      shell: cat
      register: nothing
      changed_when: false
    - name: Who am I
      command: whoami
      register: who
      changed_when: false
`;

let dir: string;
let first: TsrunRun;
let second: TsrunRun;
let loginsInFirstRun: number;

const logins = async (): Promise<number> =>
  (await readFile(sshdLog, 'utf8')).split('\n').filter((line) => line.includes(`Accepted password for ${hosts.user.name}`)).length;

beforeAll(async () => {
  await inHost(host, `rm -rf ${root}`);
  dir = await mkdtemp(path.join(os.tmpdir(), 'tsrun-become-'));
  await writeFile(path.join(dir, 'play.yml'), playbook);
  await writeFile(
    path.join(dir, 'hosts.ini'),
    `${host.name} ansible_host=${host.address} ansible_user=${hosts.user.name} ansible_password=${password} ` +
      `ansible_become_password=${password} tsrun_known_hosts=${hosts.knownHostsFile}\n`,
  );
  const before = await logins();
  first = await tsrun(['run', path.join(dir, 'play.yml'), '-i', path.join(dir, 'hosts.ini'), '--output', 'json']);
  loginsInFirstRun = (await logins()) - before;
  second = await tsrun(['run', path.join(dir, 'play.yml'), '-i', path.join(dir, 'hosts.ini'), '--output', 'json']);
}, 120_000);
afterAll(async () => {
  await inHost(host, `rm -rf ${root}`);
  await rm(dir, { recursive: true, force: true });
});

const stdoutOf = (run: TsrunRun, task: string): unknown => run.results.find((r) => r.task === task)?.result.stdout;

test('every file written with become holds exactly its content', async () => {
  expect(first.code).toBe(0);
  const onHost = await inHost(
    host,
    `cd ${root} && for f in one two three four; do cat $f.txt; done; cat lines.conf; cat block.conf; stat -c %U *.txt | sort -u`,
  );
  expect(onHost.stdout).toBe(
    'content of one\ncontent of two\ncontent of three\ncontent of four\nkey=value\n' +
      '# BEGIN ANSIBLE MANAGED BLOCK\ninside\n# END ANSIBLE MANAGED BLOCK\nroot\n',
  );
  expect(onHost.stdout).not.toContain(password);
});

test("a command under become reads the task's own input, or none", () => {
  expect(stdoutOf(first, 'Who am I')).toBe('root');
  expect(stdoutOf(first, 'A command that reads its input')).toBe("the task's own input");
  expect(String(stdoutOf(first, 'A shell that reads its input')).trim()).toBe('6');
  expect(stdoutOf(first, 'A command that gets no input')).toBe('');
});

test('the run used one connection, and a second run finds nothing to change', () => {
  expect(loginsInFirstRun).toBe(1);
  expect(second.code).toBe(0);
  expect(second.recap?.[host.name]).toMatchObject({ changed: 0, failed: 0 });
});

test('the password appears in no output', () => {
  for (const output of [first.stdout, first.stderr, second.stdout, second.stderr]) expect(output).not.toContain(password);
});
