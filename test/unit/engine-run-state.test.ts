/**
 * The engine's run state without sshd: small playbooks run in this process against
 * `ansible_connection=local` hosts (/bin/sh here, harmless commands only), and their recap
 * counts compared with ansible-playbook's on the same playbooks.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { jest } from '@jest/globals';
import { main } from '../../src/cli/main.js';

type Stats = { ok: number; changed: number; unreachable: number; failed: number; skipped: number; rescued: number; ignored: number };
interface Run {
  code: number;
  results: Array<{ host: string; task: string; status: string; ignored?: boolean; handler?: boolean }>;
  recap: Record<string, Stats>;
}

const ANSIBLE = '/usr/bin/ansible-playbook';
let dir: string;

/** Four local hosts, and one ssh host on a closed port of this machine (unreachable at once). */
const INVENTORY = `[web]
h1
h2
h3
[web:vars]
ansible_connection=local
[spare]
h4 ansible_connection=local
[down]
down ansible_connection=ssh ansible_host=127.0.0.1 ansible_port=1
[all:vars]
ansible_python_interpreter=/usr/bin/python3
`;

const maxFail = (percentage: number): string => `
- hosts: web
  gather_facts: false
  max_fail_percentage: ${percentage}
  tasks:
    - name: h2 fails
      command: "false"
      when: inventory_hostname == 'h2'
    - name: after
      debug: {msg: after}
- hosts: web
  gather_facts: false
  tasks:
    - name: next play
      debug: {msg: next}
`;

const serial = (size: number): string => `
- hosts: web
  gather_facts: false
  serial: ${size}
  tasks:
    - name: h2 fails
      command: "false"
      when: inventory_hostname == 'h2'
    - name: after
      debug: {msg: after}
`;

const PLAYBOOKS: Record<string, string> = {
  'max-fail-30.yml': maxFail(30),
  'max-fail-34.yml': maxFail(34),
  'serial-1.yml': serial(1),
  'serial-2.yml': serial(2),
  // Failures, ignored errors, loops, blocks, and a second play: compared with ansible-playbook.
  'states.yml': `
- name: failures, ignored errors, loops, blocks
  hosts: all
  gather_facts: false
  tasks:
    - command: "true"
      changed_when: false
    - name: h2 fails and leaves the play
      command: "false"
      when: inventory_hostname == 'h2'
    - name: ignored
      command: "false"
      ignore_errors: true
    - name: loop, some items skipped
      debug: {msg: "{{ item }}"}
      loop: [1, 2, 3]
      when: item > 1
    - name: loop, all items skipped
      debug: {msg: "{{ item }}"}
      loop: [1, 2]
      when: item > 5
    - name: rescued block
      block:
        - fail: {msg: boom}
          when: inventory_hostname == 'h1'
        - debug: {msg: after}
      rescue:
        - debug: {msg: rescued}
      always:
        - debug: {msg: always}
    - name: block without rescue
      block:
        - fail: {msg: again}
          when: inventory_hostname == 'h3'
      always:
        - name: always without rescue
          debug: {msg: always}
    - name: failing rescue
      block:
        - fail: {msg: first}
          when: inventory_hostname == 'h1'
      rescue:
        - command: "false"
      always:
        - name: always after a failed rescue
          debug: {msg: always}
    - name: end of play
      debug: {msg: end}
- name: second play
  hosts: all
  gather_facts: false
  tasks:
    - name: second play task
      debug: {msg: second}
`,
  // any_errors_fatal ends the playbook: no further task, no handler (not even forced), no next play.
  'fatal.yml': `
- hosts: web
  gather_facts: false
  any_errors_fatal: true
  tasks:
    - command: "true"
      notify: h
    - name: h2 fails
      command: "false"
      when: inventory_hostname == 'h2'
    - name: never
      debug: {msg: never}
  handlers:
    - name: h
      debug: {msg: handler}
- hosts: web
  gather_facts: false
  tasks:
    - name: next play
      debug: {msg: next}
`,
  'handlers.yml': `
- hosts: web
  gather_facts: false
  tasks:
    - name: notify twice
      command: "true"
      notify: write
    - name: notify again and a listener
      command: "true"
      notify: [write, listener]
    - name: h2 fails
      command: "false"
      when: inventory_hostname == 'h2'
    - name: after
      debug: {msg: after}
  handlers:
    - name: write
      shell: echo {{ inventory_hostname }} >> {{ out }}/handler.log
    - name: listening
      debug: {msg: heard}
      listen: listener
`,
};

/** Run the CLI in this process with --output json; its exit code, results and recap. */
async function tsrun(playbook: string, ...flags: string[]): Promise<Run> {
  let stdout = '';
  const out = jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    stdout += String(chunk);
    return true;
  });
  const err = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
  let code: number;
  try {
    code = await main(['run', path.join(dir, playbook), '-i', path.join(dir, 'inventory.ini'), '-T', '1', '--output', 'json', ...flags]);
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
  const run: Run = { code, results: [], recap: {} };
  for (const line of stdout.split('\n').filter(Boolean)) {
    const object = JSON.parse(line);
    if (object.recap) run.recap = object.recap;
    else run.results.push(object);
  }
  return run;
}

/** Which hosts ran the task of this name (sorted: hosts of one task run at once). */
const ranOn = (run: Run, task: string): string[] =>
  run.results
    .filter((r) => r.task === task)
    .map((r) => r.host)
    .sort();

const stats = (counts: Partial<Stats>): Stats => ({ ok: 0, changed: 0, unreachable: 0, failed: 0, skipped: 0, rescued: 0, ignored: 0, ...counts });

/** ansible-playbook's PLAY RECAP, per host. */
function ansibleRecap(playbook: string, ...flags: string[]): Promise<Record<string, Stats>> {
  const env = {
    ...process.env,
    ANSIBLE_NOCOLOR: '1',
    ANSIBLE_HOST_KEY_CHECKING: 'False',
    ANSIBLE_RETRY_FILES_ENABLED: 'False',
    ANSIBLE_LOCAL_TEMP: path.join(dir, 'ansible-local'),
    ANSIBLE_REMOTE_TEMP: path.join(dir, 'ansible-remote'),
    ANSIBLE_SSH_CONTROL_PATH_DIR: path.join(dir, 'ansible-cp'),
  };
  const args = ['-i', path.join(dir, 'inventory.ini'), '-T', '1', path.join(dir, playbook), ...flags];
  return new Promise((resolve, reject) => {
    // ansible-playbook exits 2 or 4 on failed or unreachable hosts: its recap is what counts.
    execFile(ANSIBLE, args, { cwd: dir, env, timeout: 120_000 }, (error, stdout) => {
      const recap: Record<string, Stats> = {};
      const lines = stdout.slice(stdout.indexOf('PLAY RECAP')).split('\n').slice(1);
      for (const line of lines) {
        const match = /^(\S+)\s+:\s+(.*)$/.exec(line.trim());
        if (!match) continue;
        recap[match[1]!] = Object.fromEntries(
          match[2]!
            .trim()
            .split(/\s+/)
            .map((pair) => [pair.split('=')[0], Number(pair.split('=')[1])]),
        ) as Stats;
      }
      if (Object.keys(recap).length === 0) reject(new Error(`ansible-playbook ${args.join(' ')} printed no recap: ${error?.message}\n${stdout}`));
      else resolve(recap);
    });
  });
}

let reference: Promise<{ states: Record<string, Stats>; fatal: Record<string, Stats> }>;

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'tsrun-run-state-'));
  writeFileSync(path.join(dir, 'inventory.ini'), INVENTORY);
  for (const [name, text] of Object.entries(PLAYBOOKS)) writeFileSync(path.join(dir, name), text);
  if (!existsSync(ANSIBLE)) throw new Error(`${ANSIBLE} (ansible-core) is the reference these counts are checked against; install it`);
  // Started now and awaited by the differential tests: the tsrun tests run meanwhile.
  reference = Promise.all([ansibleRecap('states.yml'), ansibleRecap('fatal.yml', '--force-handlers')]).then(([states, fatal]) => ({ states, fatal }));
  reference.catch(() => undefined);
});

afterAll(async () => {
  await reference?.catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

describe('a host leaves the play', () => {
  test('a failed task takes the host out of the play and later plays; the others go on', async () => {
    const run = await tsrun('states.yml');
    expect(run.code).toBe(4);
    expect(ranOn(run, 'h2 fails and leaves the play').filter((host) => host === 'h2')).toEqual(['h2']);
    expect(ranOn(run, 'end of play')).toEqual(['h4']);
    expect(ranOn(run, 'second play task')).toEqual(['h4']);
    expect(run.recap.h2).toEqual(stats({ ok: 1, failed: 1 }));
    expect(run.recap.h4).toEqual(stats({ ok: 9, changed: 1, skipped: 5, ignored: 1 }));
  });

  test('an ignored failure counts ok and ignored (and changed), and the host goes on', async () => {
    const run = await tsrun('states.yml');
    const ignored = run.results.filter((r) => r.task === 'ignored');
    expect(ignored.map((r) => [r.host, r.status, r.ignored]).sort()).toEqual([
      ['h1', 'failed', true],
      ['h3', 'failed', true],
      ['h4', 'failed', true],
    ]);
    expect(run.recap.h1!.ignored).toBe(1);
    expect(run.recap.h1!.changed).toBe(1);
  });

  test('an unreachable host counts once and runs nothing more, in this play or the next', async () => {
    const run = await tsrun('states.yml');
    expect(run.results.filter((r) => r.host === 'down').map((r) => r.status)).toEqual(['unreachable']);
    expect(run.recap.down).toEqual(stats({ unreachable: 1 }));
  });
});

describe('blocks', () => {
  test('a rescue takes a failed host back and counts rescued; always runs for every host', async () => {
    const run = await tsrun('states.yml');
    // h1 failed in the first block and was rescued; it goes on to the end.
    expect(run.recap.h1).toEqual(stats({ ok: 7, changed: 1, failed: 1, skipped: 3, rescued: 2, ignored: 1 }));
    // h3 failed in a block without rescue: its always runs, then it is out.
    expect(ranOn(run, 'always without rescue')).toEqual(['h1', 'h3', 'h4']);
    expect(ranOn(run, 'always after a failed rescue')).toEqual(['h1', 'h4']);
    expect(run.recap.h3).toEqual(stats({ ok: 6, changed: 1, failed: 1, skipped: 3, ignored: 1 }));
  });

  test('a failing rescue leaves the host failed after its always', async () => {
    const run = await tsrun('states.yml');
    expect(ranOn(run, 'end of play')).toEqual(['h4']);
    expect(run.recap.h1!.failed).toBe(1);
  });
});

describe('stopping the play', () => {
  test('any_errors_fatal stops every host, runs no handler even when forced, and ends the playbook', async () => {
    const run = await tsrun('fatal.yml', '--force-handlers');
    expect(run.code).toBe(2);
    expect(ranOn(run, 'never')).toEqual([]);
    expect(run.results.filter((r) => r.handler)).toEqual([]);
    expect(ranOn(run, 'next play')).toEqual([]);
    expect(run.recap.h1).toEqual(stats({ ok: 1, changed: 1, skipped: 1 }));
  });

  test('max_fail_percentage: more than the share failed stops the playbook; up to it, the others go on', async () => {
    const over = await tsrun('max-fail-30.yml');
    expect(ranOn(over, 'after')).toEqual([]);
    expect(ranOn(over, 'next play')).toEqual([]);
    const within = await tsrun('max-fail-34.yml');
    expect(ranOn(within, 'after')).toEqual(['h1', 'h3']);
    expect(ranOn(within, 'next play')).toEqual(['h1', 'h3']);
  });

  test('serial batches run one after another; a batch whose every host failed ends the playbook', async () => {
    const pairs = await tsrun('serial-2.yml');
    expect(ranOn(pairs, 'after')).toEqual(['h1', 'h3']);
    // The first batch (h1, h2) is done before the second (h3) starts.
    expect(pairs.results.map((r) => r.host).slice(-2)).toEqual(['h3', 'h3']);
    expect(
      pairs.results
        .map((r) => r.host)
        .slice(0, 3)
        .sort(),
    ).toEqual(['h1', 'h1', 'h2']);
    const single = await tsrun('serial-1.yml');
    expect(ranOn(single, 'after')).toEqual(['h1']);
    expect(Object.keys(single.recap)).toEqual(['h1', 'h2']);
  });
});

describe('handlers', () => {
  const handlerLog = (): string[] => readFileSync(path.join(dir, 'handler.log'), 'utf8').split('\n').filter(Boolean).sort();

  test('a handler notified twice runs once, at the end, and not on a host that failed', async () => {
    rmSync(path.join(dir, 'handler.log'), { force: true });
    const run = await tsrun('handlers.yml', '-e', `out=${dir}`);
    expect(handlerLog()).toEqual(['h1', 'h3']);
    expect(run.results.findIndex((r) => r.handler)).toBeGreaterThan(run.results.findIndex((r) => r.task === 'after'));
    expect(ranOn(run, 'listening')).toEqual(['h1', 'h3']);
    expect(run.recap.h2).toEqual(stats({ ok: 2, changed: 2, failed: 1 }));
  });

  test('--force-handlers runs them on the failed host too, which stays failed', async () => {
    rmSync(path.join(dir, 'handler.log'), { force: true });
    const run = await tsrun('handlers.yml', '-e', `out=${dir}`, '--force-handlers');
    expect(run.code).toBe(2);
    expect(handlerLog()).toEqual(['h1', 'h2', 'h3']);
    expect(run.recap.h2).toEqual(stats({ ok: 4, changed: 3, failed: 1 }));
  });
});

describe('the recap is ansible-playbook’s', () => {
  test('failures, ignored errors, loops, rescued and always blocks, an unreachable host', async () => {
    const { states } = await reference;
    expect((await tsrun('states.yml')).recap).toEqual(states);
  });

  test('any_errors_fatal with --force-handlers', async () => {
    const { fatal } = await reference;
    expect((await tsrun('fatal.yml', '--force-handlers')).recap).toEqual(fatal);
  });
});
