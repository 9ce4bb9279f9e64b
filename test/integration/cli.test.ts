/**
 * The command line as a user runs it against real SSH hosts: extra vars, listing and
 * syntax checks, host and task selection, bad options, JSON output, the log file,
 * --diff, exit codes when a host fails, and errors that point at the source.
 */
import { readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { inHost, REPO_ROOT, testHosts } from '../harness/hosts.js';
import { tsrun, type TsrunRun } from '../harness/tsrun.js';

const hosts = testHosts();
const names = hosts.hosts.map((host) => host.name);
const [first, second] = names as [string, string, ...string[]];
const fixtures = path.join(REPO_ROOT, 'test/fixtures/cli');
const site = path.join(fixtures, 'site.yml');
const errors = path.join(REPO_ROOT, 'test/fixtures/errors');
const logFile = path.join(os.tmpdir(), `tsrun-cli-test-${process.pid}.log`);
const playSecret = 'Pl4y-Secret-db';

const run = (playbook: string, ...extra: string[]): Promise<TsrunRun> => tsrun(['run', playbook, '-i', hosts.inventoryFile, ...extra]);
const json = (playbook: string, ...extra: string[]): Promise<TsrunRun> => run(playbook, '--output', 'json', ...extra);
const tasksOf = (result: TsrunRun): string[] => [...new Set(result.results.map((r) => r.task))];
const messages = (result: TsrunRun, task: string): unknown[] => result.results.filter((r) => r.task === task).map((r) => r.result.msg);

async function wipe(): Promise<void> {
  await Promise.all(hosts.hosts.map((host) => inHost(host, 'rm -rf /srv/cli')));
  await rm(logFile, { force: true });
}

describe('extra vars (-e)', () => {
  let layered: TsrunRun;
  let kvLast: TsrunRun;
  beforeAll(async () => {
    [layered, kvLast] = await Promise.all([
      json(site, '-t', 'show', '-l', first, '-e', 'greeting=kv', '-e', '{"greeting": "json", "a": 1}', '-e', `@${fixtures}/extra.yml`),
      json(site, '-t', 'show', '-l', first, '-e', `@${fixtures}/extra.yml`, '-e', 'greeting="k v" a=3'),
    ]);
  });

  test('k=v, JSON and @file all apply, the later one wins, over play vars', () => {
    expect(layered.code).toBe(0);
    expect(messages(layered, 'Show greeting')).toEqual(['greeting=from-file a=2']);
  });

  test('a later k=v (quoted value) overrides an earlier file', () => {
    expect(kvLast.code).toBe(0);
    expect(messages(kvLast, 'Show greeting')).toEqual(['greeting=k v a=3']);
  });
});

describe('listing and checking without running', () => {
  test('--list-hosts shows the hosts of each play, narrowed by --limit patterns', async () => {
    const [all, excluded, one] = await Promise.all([
      run(site, '--list-hosts'),
      run(site, '--list-hosts', '-l', `testhosts:!${first}`),
      run(site, '--list-hosts', '--limit', second),
    ]);
    expect(all.code).toBe(0);
    expect(all.stdout).toContain(`play: CLI play\n  pattern: testhosts\n  hosts (${names.length}):\n${names.map((n) => `    ${n}\n`).join('')}`);
    expect(excluded.stdout).toContain(
      `hosts (${names.length - 1}):\n${names
        .slice(1)
        .map((n) => `    ${n}\n`)
        .join('')}`,
    );
    expect(one.stdout).toContain(`hosts (1):\n    ${second}\n`);
  });

  test('--list-tasks shows each task with its tags, honouring --tags and never', async () => {
    const [all, write] = await Promise.all([run(site, '--list-tasks'), run(site, '--list-tasks', '--tags', 'write')]);
    expect(all.code).toBe(0);
    const listed = (result: TsrunRun) => result.stdout.split('\n').filter((line) => line.startsWith('    '));
    expect(listed(all)).toEqual([
      '    Show greeting\tTAGS: [show]',
      '    Prepare the directory\tTAGS: [write]',
      '    Write a file\tTAGS: [write]',
      '    Use the password\tTAGS: [secret]',
      '    Hidden result\tTAGS: [secret]',
    ]);
    expect(listed(write)).toEqual(['    Prepare the directory\tTAGS: [write]', '    Write a file\tTAGS: [write]']);
  });

  test('--syntax-check names the playbook and exits 0; a broken playbook exits 1 at file:line:col', async () => {
    const [good, bad] = await Promise.all([run(site, '--syntax-check'), run(path.join(errors, 'unknown-module.yml'), '--syntax-check')]);
    expect(good.code).toBe(0);
    expect(good.stdout).toBe(`playbook: ${site}\n`);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toBe(`ERROR: ${errors}/unknown-module.yml:4:7: task: unknown module 'copyy'\n  hint: did you mean 'copy'?\n`);
  });
});

describe('loading errors through the command line exit 1 and point at the source', () => {
  test.each([
    ['bad-tab.yml', /^ERROR: .*bad-tab\.yml:4:\d+: invalid YAML/],
    ['unknown-play-key.yml', /^ERROR: .*unknown-play-key\.yml:2:3: play: unknown key 'hostz'\n {2}hint: did you mean 'hosts'\?/],
    ['wrong-type.yml', /^ERROR: .*wrong-type\.yml:2:3: play: 'become' expected boolean/],
    ['two-modules.yml', /^ERROR: .*two-modules\.yml:7:7: task: more than one module \(copy, file\)/],
    ['unknown-role.yml', /^ERROR: .*unknown-role\.yml:4:7: role 'databse' not found\n {2}hint: looked in: /],
    ['missing-handler.yml', /^ERROR: .*missing-handler\.yml:7:7: notify: no handler named 'restart web'\n {2}hint: did you mean 'restart webapp'\?/],
    ['missing-include.yml', /^ERROR: .*missing-include\.yml:4:7: included task file not found: .*nowhere\.yml/],
  ])('%s', async (file, expected) => {
    const result = await run(path.join(errors, file));
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(expected);
    expect(result.stdout).toBe('');
  });

  test('an undefined variable fails the host (exit 2) naming the variable and where it is used', async () => {
    const result = await json(path.join(errors, 'undefined-var.yml'), '-l', first);
    expect(result.code).toBe(2);
    const [failure] = result.results.filter((r) => r.status === 'failed');
    expect(failure!.host).toBe(first);
    expect(String(failure!.result.msg)).toMatch(/undefined/);
    expect(String(failure!.result.msg)).toMatch(new RegExp(`${errors}/undefined-var\\.yml:\\d+:\\d+: .*'web_prot'`));
    expect(result.recap![first]).toMatchObject({ failed: 1 });
  });
});

describe('choosing what runs', () => {
  let started: TsrunRun;
  let skipped: TsrunRun;
  let onlyNever: TsrunRun;
  beforeAll(async () => {
    [started, skipped, onlyNever] = await Promise.all([
      json(site, '-l', first, '--start-at-task', 'Use the password'),
      json(site, '-l', first, '--skip-tags', 'secret,write'),
      json(site, '-l', first, '-t', 'debugonly'),
    ]);
  });

  test('--start-at-task skips every task before the one named', () => {
    expect(started.code).toBe(0);
    expect(tasksOf(started)).toEqual(['Use the password', 'Hidden result']);
  });

  test('--skip-tags leaves out tasks with any of the tags', () => {
    expect(skipped.code).toBe(0);
    expect(tasksOf(skipped)).toEqual(['Show greeting']);
  });

  test('a task tagged never runs only when its other tag is asked for', () => {
    expect(tasksOf(onlyNever)).toEqual(['Only on request']);
  });
});

describe('bad options exit 5 before anything runs', () => {
  test.each([
    [['--forks', '0'], /--forks expects a positive whole number, got '0'/],
    [['--bogus'], /unknown option '--bogus'/],
    [['--host-key-checking', 'maybe'], /'maybe' is invalid.*strict, accept-new, off/],
    [['--output', 'yaml'], /'yaml' is invalid/],
  ])('%j', async (flags, message) => {
    const result = await run(site, ...flags);
    expect(result.code).toBe(5);
    expect(result.stderr).toMatch(message);
    expect(result.stdout).toBe('');
  });
});

describe('a full run: JSON output, the log file, secrets, --diff', () => {
  let full: TsrunRun;
  let log: Array<Record<string, unknown>>;
  let diff: TsrunRun;
  let again: TsrunRun;
  beforeAll(async () => {
    await wipe();
    full = await json(site, '--log-file', logFile);
    log = (await readFile(logFile, 'utf8'))
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    diff = await run(site, '-D', '-t', 'write', '-l', first, '-e', 'content=second');
    again = await run(site, '-D', '-t', 'write', '-l', first, '-e', 'content=second');
  }, 120_000);
  afterAll(wipe);

  test('every stdout line is JSON and the last one is the recap', () => {
    expect(full.code).toBe(0);
    const lines = full.stdout.trim().split('\n');
    expect(JSON.parse(lines.at(-1)!)).toEqual({ recap: full.recap });
    expect(Object.keys(full.recap!)).toEqual(names);
    for (const stats of Object.values(full.recap!)) expect(stats).toMatchObject({ ok: 5, changed: 3, failed: 0, unreachable: 0 });
  });

  test('the log file holds structured events with their source', () => {
    expect(log.map((event) => event.event)).toEqual(expect.arrayContaining(['play_start', 'task_start', 'result', 'recap']));
    const write = log.find((event) => event.event === 'task_start' && event.task === 'Write a file')!;
    expect(write).toMatchObject({ source: { file: site, line: 17, col: 7 }, level: 'info', timestamp: expect.any(String) });
    const results = log.filter((event) => event.event === 'result' && event.task === 'Write a file');
    expect(results.map((event) => event.host).sort()).toEqual([...names].sort());
    expect(log.at(-1)).toMatchObject({ event: 'recap', recap: full.recap });
  });

  test('secret-named variables and no_log results reach neither the log nor the output', async () => {
    const logText = await readFile(logFile, 'utf8');
    for (const text of [logText, full.stdout, full.stderr]) {
      expect(text).not.toContain(playSecret);
      expect(text).not.toContain('hidden-');
    }
    expect(messages(full, 'Use the password')).toEqual(names.map(() => 'connecting with ********'));
    const hidden = full.results.filter((r) => r.task === 'Hidden result').map((r) => r.result);
    expect(hidden).toEqual(names.map(() => ({ changed: true, failed: false, censored: expect.stringContaining('no_log') })));
  });

  test('--diff prints a unified diff of a changed file, and nothing once it is in place', async () => {
    expect(diff.code).toBe(0);
    expect(diff.stdout).toContain(`--- before: /srv/cli/file.txt\n+++ after: /srv/cli/file.txt\n@@ -1 +1 @@\n-first\n+second\n`);
    expect(await inHost(hosts.hosts[0]!, 'cat /srv/cli/file.txt').then((r) => r.stdout)).toBe('second\n');
    expect(again.code).toBe(0);
    expect(again.stdout).not.toContain('--- before');
  });
});

describe('exit codes when a host fails', () => {
  let oneFails: TsrunRun;
  let fatal: TsrunRun;
  beforeAll(async () => {
    [oneFails, fatal] = await Promise.all([
      json(path.join(fixtures, 'fail-one.yml'), '-e', `first_host=${first}`),
      json(path.join(fixtures, 'fatal.yml'), '-e', `first_host=${first}`),
    ]);
  });

  test('one failed host exits 2 while the others finish the play', () => {
    expect(oneFails.code).toBe(2);
    expect(oneFails.recap![first]).toMatchObject({ failed: 1 });
    expect(oneFails.results.filter((r) => r.task === 'After the failure').map((r) => r.host)).toEqual(names.slice(1));
    for (const name of names.slice(1)) expect(oneFails.recap![name]).toMatchObject({ ok: 1, failed: 0, skipped: 1 });
    expect(oneFails.results.find((r) => r.status === 'failed')!.result.msg).toBe('failing on purpose');
  });

  test('any_errors_fatal stops every host after the failure', () => {
    expect(fatal.code).toBe(2);
    expect(fatal.results.filter((r) => r.task === 'After the failure')).toEqual([]);
    expect(fatal.recap![first]).toMatchObject({ failed: 1 });
  });
});
