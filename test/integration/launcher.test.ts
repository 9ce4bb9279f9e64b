/**
 * bin/tsrun as a user starts it: Node from the start-up snapshot the build made (also
 * through a symlink, as npm installs it), and the plain modules when the snapshot was made
 * by another Node binary. A local playbook shows how its own process was started.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from '../harness/hosts.js';

const launcher = path.join(REPO_ROOT, 'bin', 'tsrun');
const scratch = mkdtempSync(path.join(os.tmpdir(), 'tsrun-launcher-'));
const playbook = path.join(scratch, 'started.yml');
writeFileSync(
  playbook,
  `- hosts: localhost
  gather_facts: false
  tasks:
    - name: How tsrun was started
      shell: tr '\\0' ' ' < /proc/$PPID/cmdline
`,
);

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Run the playbook through `command`; the command line of the tsrun process, and the run. */
function started(command: string, env: NodeJS.ProcessEnv = process.env): { code: number | null; cmdline: string; stderr: string } {
  const result = spawnSync(command, ['run', playbook, '-i', 'localhost,', '--output', 'json'], { env, encoding: 'utf8' });
  const line = result.stdout.split('\n').find((text) => text.includes('How tsrun was started'));
  const cmdline = line ? String((JSON.parse(line) as { result: { stdout?: string } }).result.stdout) : '';
  return { code: result.status, cmdline, stderr: result.stderr };
}

test('the build made a snapshot for the node on PATH', () => {
  const stamp = readFileSync(path.join(REPO_ROOT, 'dist', 'snapshot', 'node.stamp'), 'utf8').trim();
  const node = spawnSync('/bin/sh', ['-c', `stat -L -c '%s %Y %i' "$(command -v node)"`], { encoding: 'utf8' }).stdout.trim();
  expect(stamp).toBe(node);
});

test('bin/tsrun starts from the snapshot, also through a symlink', () => {
  const link = path.join(scratch, 'tsrun');
  symlinkSync(launcher, link);
  for (const command of [launcher, link]) {
    const run = started(command);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.cmdline).toContain('--snapshot-blob ');
    expect(run.cmdline).toContain(`${path.join(REPO_ROOT, 'bin')}/../dist/snapshot/tsrun.blob -- run ${playbook}`);
  }
});

test('with another node binary it runs the modules, with the same result', () => {
  const otherBin = path.join(scratch, 'other-node');
  spawnSync('mkdir', ['-p', otherBin]);
  const node = spawnSync('/bin/sh', ['-c', 'command -v node'], { encoding: 'utf8' }).stdout.trim();
  copyFileSync(node, path.join(otherBin, 'node'));
  spawnSync('chmod', ['+x', path.join(otherBin, 'node')]);
  const run = started(launcher, { ...process.env, PATH: `${otherBin}:${process.env.PATH}` });
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  expect(run.cmdline).toContain(`bin/tsrun.js run ${playbook}`);
  expect(run.cmdline).not.toContain('--snapshot-blob');
});

test('with NODE_OPTIONS (V8 flags a snapshot refuses) it runs the modules', () => {
  const run = started(launcher, { ...process.env, NODE_OPTIONS: '--max-old-space-size=4096' });
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  expect(run.cmdline).toContain(`bin/tsrun.js run ${playbook}`);
});

test("commands run by tsrun keep the caller's NODE_EXTRA_CA_CERTS (tsrun's own Node starts without it)", () => {
  const shown = path.join(scratch, 'environment.yml');
  writeFileSync(
    shown,
    `- hosts: localhost
  gather_facts: false
  tasks:
    - name: Environment
      shell: echo "$NODE_EXTRA_CA_CERTS|\${TSRUN_NODE_EXTRA_CA_CERTS-unset}"
`,
  );
  const result = spawnSync(launcher, ['run', shown, '-i', 'localhost,', '--output', 'json'], {
    env: { ...process.env, NODE_EXTRA_CA_CERTS: '/etc/ssl/certs/ca-certificates.crt' },
    encoding: 'utf8',
  });
  expect(result.status).toBe(0);
  const line = result.stdout.split('\n').find((text) => text.includes('"Environment"'))!;
  expect((JSON.parse(line) as { result: { stdout: string } }).result.stdout).toBe('/etc/ssl/certs/ca-certificates.crt|unset');
});
