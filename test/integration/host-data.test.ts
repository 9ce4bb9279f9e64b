/**
 * What a host prints is data, never a template: a host that prints `{{ ... }}` cannot make
 * the controller evaluate it, however the text travels (a registered result, a loop over
 * its results or lines, a set_fact copy, a nested copy, a command built from it). Checked
 * against ansible-playbook on the same playbook: both must print the same messages.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { tsrun } from '../harness/tsrun.js';

const run = promisify(execFile);
const CONTROLLER_SECRET = 'controller-env-value-7f3a';

// The host prints templates that would read a controller variable, the controller's
// environment, and themselves.
const playbook = `- hosts: all
  gather_facts: false
  vars:
    controller_only: controller-variable-value
  tasks:
    - name: Host prints templates
      shell: |
        printf '%s\\n' "{{ '{{' }} controller_only {{ '}}' }}" "{{ '{{' }} lookup('env', 'TSRUN_TEST_CONTROLLER_ENV') {{ '}}' }}" "{{ '{%' }} for x in range(3) {{ '%}' }}x{{ '{%' }} endfor {{ '%}' }}"
      register: printed
      changed_when: false
    - name: Looped
      command: "echo {{ '{{' }} controller_only {{ '}}' }}"
      loop: [1, 2]
      register: looped
      changed_when: false
    - name: Copies
      set_fact:
        copied: "{{ printed.stdout }}"
        nested: { lines: "{{ printed.stdout_lines }}", first: "{{ printed.stdout_lines[0] }}" }
    - name: Copy of a copy
      set_fact:
        copied_again: "{{ copied }}"
    - name: Echo the copy
      command: "echo {{ copied_again | quote }}"
      register: echoed
      changed_when: false
    - debug: { msg: "registered={{ printed.stdout_lines[1] }}" }
    - debug: { msg: "indexed={{ looped.results[0].stdout }}" }
    - debug: { msg: "result item={{ item.stdout }}" }
      loop: "{{ looped.results }}"
    - debug: { msg: "line item={{ item }}" }
      loop: "{{ printed.stdout_lines }}"
    - debug: { msg: "copied={{ copied }}" }
    - debug: { msg: "nested={{ nested.first }} {{ nested.lines[2] }}" }
    - debug: { msg: "again={{ copied_again }}" }
    - debug: { msg: "echoed={{ echoed.stdout }}" }
`;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'tsrun-host-data-'));
  await writeFile(path.join(dir, 'play.yml'), playbook);
  await writeFile(path.join(dir, 'hosts.ini'), 'localhost ansible_connection=local ansible_python_interpreter=/usr/bin/python3\n');
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** The "msg" lines a run printed, in order. */
const messages = (output: string): string[] => [...output.matchAll(/^ {4}"msg": (".*")$/gm)].map((match) => JSON.parse(match[1]!) as string);

test('host output is never rendered, and tsrun prints what ansible-playbook prints', async () => {
  const env = { TSRUN_TEST_CONTROLLER_ENV: CONTROLLER_SECRET };
  const ours = await tsrun(['run', path.join(dir, 'play.yml'), '-i', path.join(dir, 'hosts.ini')], { env });
  expect(ours.code).toBe(0);
  const reference = await run('ansible-playbook', ['-i', path.join(dir, 'hosts.ini'), path.join(dir, 'play.yml')], {
    env: { ...process.env, ...env, ANSIBLE_NOCOLOR: '1', ANSIBLE_HOST_KEY_CHECKING: 'False' },
  });
  const printed = messages(ours.stdout);
  expect(printed).toEqual(messages(reference.stdout));
  expect(printed).toContain("registered={{ lookup('env', 'TSRUN_TEST_CONTROLLER_ENV') }}");
  expect(printed).toContain("again={{ controller_only }}\n{{ lookup('env', 'TSRUN_TEST_CONTROLLER_ENV') }}\n{% for x in range(3) %}x{% endfor %}");
  expect(ours.stdout).not.toContain(CONTROLLER_SECRET);
  expect(ours.stdout).not.toContain('controller-variable-value');
  expect(ours.stdout).not.toContain('xxx');
}, 120_000);
