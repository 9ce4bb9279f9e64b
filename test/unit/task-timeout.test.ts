/**
 * A task's `timeout:` on an `ansible_connection=local` host, compared with ansible-playbook
 * on the same playbook: the failure's fields, per loop item, per attempt with until, and
 * the timed-out command gone with its children.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { tsrun } from '../harness/tsrun.js';

const run = promisify(execFile);
const marker = `tt-marker-${process.pid}`;
let dir: string;

const PLAYBOOK = `
- hosts: local
  gather_facts: false
  tasks:
    - name: Hang
      shell: sleep 30 # ${marker}
      timeout: 1
      ignore_errors: true
      register: single
    - name: Loop
      shell: "sleep {{ item }} # ${marker}"
      loop: [0, 30]
      timeout: "{{ limit }}"
      ignore_errors: true
      register: looped
    - name: Retries
      shell: sleep 30 # ${marker}
      until: false
      retries: 3
      delay: 0
      timeout: 1
      ignore_errors: true
      register: retried
    - name: Qualified
      ansible.builtin.shell: sleep 30 # ${marker}
      timeout: 1
      ignore_errors: true
      register: qualified
    - name: Record
      copy:
        dest: "{{ out }}"
        content: "{{ {'single': single, 'second_item': looped.results[1], 'loop_failed': looped.results | map(attribute='failed') | list, 'retried': retried, 'qualified': qualified} | to_json }}"
`;

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'tsrun-timeout-'));
  writeFileSync(path.join(dir, 'site.yml'), PLAYBOOK);
  writeFileSync(path.join(dir, 'inventory.ini'), 'local ansible_connection=local ansible_python_interpreter=/usr/bin/python3\n');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const running = async (): Promise<string> => {
  // The brackets keep pgrep from matching its own command line.
  const found = await run('pgrep', ['-f', `tt-[m]arker-${process.pid}`]).catch(() => ({ stdout: '' }));
  return found.stdout.trim();
};

test('fails each attempt with the message and fields ansible-playbook gives, and ends the command', async () => {
  const args = ['-i', path.join(dir, 'inventory.ini'), path.join(dir, 'site.yml'), '-e', 'limit=1'];
  const started = Date.now();
  const ours = await tsrun(['run', ...args, '-e', `out=${path.join(dir, 'tsrun.json')}`]);
  const seconds = (Date.now() - started) / 1000;
  expect(ours.stderr).toBe('');
  expect(ours.code).toBe(0);
  // Four timeouts of one second each (the loop's first item is immediate): not 30 s, not 4 attempts.
  expect(seconds).toBeLessThan(9);
  expect(await running()).toBe('');

  const env = { ...process.env, ANSIBLE_NOCOLOR: '1', ANSIBLE_LOCAL_TEMP: path.join(dir, 'ansible-local'), ANSIBLE_RETRY_FILES_ENABLED: 'False' };
  await run('/usr/bin/ansible-playbook', [...args, '-e', `out=${path.join(dir, 'ansible.json')}`], { env, timeout: 120_000 });
  const theirs = JSON.parse(readFileSync(path.join(dir, 'ansible.json'), 'utf8'));
  const recorded = JSON.parse(readFileSync(path.join(dir, 'tsrun.json'), 'utf8'));
  const message = 'The shell action failed to execute in the expected time frame (1) and was terminated';
  expect(theirs.single).toEqual({ changed: false, failed: true, msg: message });
  expect(recorded.single).toEqual(theirs.single);
  expect(recorded.retried).toEqual(theirs.retried);
  // The module is named as the task writes it.
  expect(theirs.qualified.msg).toBe(message.replace('shell', 'ansible.builtin.shell'));
  expect(recorded.qualified).toEqual(theirs.qualified);
  expect(recorded.loop_failed).toEqual(theirs.loop_failed);
  expect(theirs.loop_failed).toEqual([false, true]);
  expect(recorded.second_item).toMatchObject({ failed: true, msg: message, item: 30 });
  expect(theirs.second_item).toMatchObject({ failed: true, msg: message, item: 30 });
  // ansible-playbook leaves its timed-out commands running: end them.
  for (const pid of (await running()).split('\n').filter(Boolean)) process.kill(Number(pid));
}, 120_000);
