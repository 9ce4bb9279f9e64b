#!/usr/bin/env node
/**
 * `make bench`: the same playbook (bench/playbook.yml) converged by tsrun and by Debian's
 * ansible-playbook on fresh SSH test hosts, 4 and then 20 of them, cold and as a no-op
 * re-run. Prints wall times (whole command, process start included), the ratios, tsrun's
 * peak memory and its SSH round trips per host. Fails loudly when a no-op run changes
 * anything, and tears the hosts down whatever happens.
 *
 *   node bench/bench.js --hosts-dir DIR [--counts 4,20]
 *
 * Plain Node ESM: it runs the built dist/ and bin/tsrun (as a user would: from the start-up
 * snapshot), and is not compiled itself.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, rmdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = path.dirname(BENCH_DIR);
const PLAYBOOK = path.join(BENCH_DIR, 'playbook.yml');
const TSRUN = path.join(REPO_ROOT, 'bin', 'tsrun');
const TESTHOSTS_CLI = path.join(REPO_ROOT, 'lab', 'dist', 'testhosts-cli.js');
const GNU_TIME = '/usr/bin/time';
const ANSIBLE_PLAYBOOK = existsSync('/usr/bin/ansible-playbook') ? '/usr/bin/ansible-playbook' : 'ansible-playbook';
/** What the issue asks of tsrun. */
const TARGET_NOOP_RATIO = 30;
const TARGET_PEAK_MB = 200;
/**
 * A tsrun run takes well under a second, where a scheduling hiccup on a busy machine shows:
 * its no-op time is the median of this many runs (the spread is printed too).
 */
const TSRUN_NOOP_RUNS = 5;
/** Everything the playbook writes lives here on the hosts. */
const REMOTE_ROOT = '/srv/bench';

class BenchError extends Error {}

// ---------------------------------------------------------------- running commands

/**
 * Run a command to completion under GNU time (for the peak RSS of the largest process in
 * it), timing the whole command from spawn to exit. Throws with the output's tail when it
 * fails, unless `allowFailure`.
 */
async function timed(label, file, args, { env, cwd, allowFailure = false } = {}) {
  const rssFile = path.join(scratchDir, `rss-${process.hrtime.bigint()}`);
  const started = process.hrtime.bigint();
  const { code, output } = await run(GNU_TIME, ['-f', '%M', '-o', rssFile, file, ...args], { env, cwd });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const rssText = await readFile(rssFile, 'utf8').catch(() => '');
  await rm(rssFile, { force: true });
  // GNU time writes "Command exited with non-zero status N" before the number.
  const peakKb = Number(rssText.trim().split('\n').pop());
  if (code !== 0 && !allowFailure) {
    throw new BenchError(`${label} failed (exit ${code}):\n${tail(output, 40)}`);
  }
  return { seconds, peakMb: Number.isFinite(peakKb) ? peakKb / 1024 : NaN, output, code };
}

/** Spawn without a shell; stdout and stderr interleaved into one string. */
function run(file, args, { env, cwd, input } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      cwd: cwd ?? REPO_ROOT,
      env: env ?? process.env,
      stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      // Its own process group, so an interrupted benchmark can stop it with all its forks.
      detached: true,
    });
    running.add(child);
    child.on('close', () => running.delete(child));
    const chunks = [];
    child.stdout.on('data', (chunk) => chunks.push(chunk));
    child.stderr.on('data', (chunk) => chunks.push(chunk));
    child.on('error', (error) => reject(new BenchError(`cannot run ${file}: ${error.message}`)));
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), output: Buffer.concat(chunks).toString('utf8') }));
    if (input !== undefined) child.stdin.end(input);
  });
}

async function mustRun(label, file, args, options) {
  const result = await run(file, args, options);
  if (result.code !== 0) throw new BenchError(`${label} failed (exit ${result.code}):\n${tail(result.output, 20)}`);
  return result.output;
}

function tail(text, lines) {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

// ---------------------------------------------------------------- test hosts

/** Fresh hosts: whatever an earlier, interrupted benchmark left in stateDir goes first. */
async function hostsUp(count, stateDir, prefix) {
  await hostsDown(stateDir);
  await mkdir(stateDir, { recursive: true });
  const inventory = (
    await mustRun(`bringing up ${count} test hosts`, process.execPath, [
      TESTHOSTS_CLI,
      'up',
      '--count',
      String(count),
      '--state-dir',
      stateDir,
      '--prefix',
      prefix,
    ])
  ).trim();
  const state = JSON.parse(readFileSync(path.join(stateDir, 'state.json'), 'utf8'));
  return { inventory, state };
}

async function hostsDown(stateDir) {
  if (!existsSync(path.join(stateDir, 'state.json'))) return;
  await mustRun(`tearing down the test hosts in ${stateDir}`, process.execPath, [TESTHOSTS_CLI, 'down', '--state-dir', stateDir]);
  // Only when empty: a state dir holding anything else is not ours to delete.
  await rmdir(stateDir).catch(() => undefined);
}

/** Remove what the playbook wrote, from inside each host's mount namespace (no ssh involved). */
async function wipeHosts(state) {
  await Promise.all(
    state.hosts.map(async (host) => {
      await mustRun(`wiping ${REMOTE_ROOT} on ${host.name}`, 'nsenter', ['-t', String(host.sshdPid), '-m', 'rm', '-rf', REMOTE_ROOT]);
      const check = await run('nsenter', ['-t', String(host.sshdPid), '-m', 'test', '-e', REMOTE_ROOT]);
      if (check.code === 0) throw new BenchError(`${REMOTE_ROOT} is still there on ${host.name} after wiping it`);
    }),
  );
}

// ---------------------------------------------------------------- ansible

/** An ansible.cfg of its own: pipelining, ControlPersist, the harness's known_hosts, N forks. */
async function ansibleEnv(dir, state) {
  await mkdir(path.join(dir, 'cp'), { recursive: true });
  await mkdir(path.join(dir, 'tmp'), { recursive: true });
  const config = [
    '[defaults]',
    `forks = ${state.hosts.length}`,
    'gathering = explicit',
    // Debian's ansible runs its modules with Python on the target; the hosts share this machine's /usr.
    'interpreter_python = /usr/bin/python3',
    'host_key_checking = True',
    'retry_files_enabled = False',
    'nocolor = True',
    `local_tmp = ${path.join(dir, 'tmp')}`,
    '',
    '[ssh_connection]',
    'pipelining = True',
    `ssh_args = -o ControlMaster=auto -o ControlPersist=60s -o UserKnownHostsFile=${state.knownHostsFile} -o StrictHostKeyChecking=yes`,
    `control_path_dir = ${path.join(dir, 'cp')}`,
    '',
  ].join('\n');
  const file = path.join(dir, 'ansible.cfg');
  await writeFile(file, config);
  return { ...process.env, ANSIBLE_CONFIG: file, ANSIBLE_STDOUT_CALLBACK: 'default' };
}

/** Close the ssh masters ControlPersist left running, so teardown leaves no process behind. */
async function closeControlMasters(dir) {
  const sockets = await readdir(path.join(dir, 'cp')).catch(() => []);
  await Promise.all(sockets.map((name) => run('ssh', ['-o', `ControlPath=${path.join(dir, 'cp', name)}`, '-O', 'exit', 'bench-master'])));
}

// ---------------------------------------------------------------- checking the runs

/** The PLAY RECAP of either tool: host → counters. */
function parseRecap(output) {
  const recap = output.lastIndexOf('PLAY RECAP');
  if (recap < 0) return undefined;
  const hosts = {};
  for (const match of output.slice(recap).matchAll(/^(\S+)\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)/gm)) {
    hosts[match[1]] = { ok: Number(match[2]), changed: Number(match[3]), unreachable: Number(match[4]), failed: Number(match[5]) };
  }
  return hosts;
}

/** A run counts only if every host finished it, and a no-op run changed nothing anywhere. */
function checkRun(label, output, state, { noop }) {
  const recap = parseRecap(output);
  if (!recap) throw new BenchError(`${label}: no PLAY RECAP in the output:\n${tail(output, 30)}`);
  const problems = [];
  for (const host of state.hosts) {
    const counters = recap[host.name];
    if (!counters) problems.push(`${host.name} is missing from the recap`);
    else if (counters.failed || counters.unreachable) problems.push(`${host.name}: failed=${counters.failed} unreachable=${counters.unreachable}`);
    else if (noop && counters.changed !== 0) problems.push(`${host.name}: changed=${counters.changed} on a re-run that must change nothing`);
    else if (!noop && counters.changed === 0) problems.push(`${host.name}: changed=0 on a cold run, so it did not start from empty hosts`);
  }
  if (problems.length) throw new BenchError(`${label}:\n  ${problems.join('\n  ')}\n${tail(output, 30)}`);
}

/** tsrun -vvv's "SSH round trips per host: {...}", summarised as "19" or "19-21". */
function roundTrips(output) {
  const match = /^SSH round trips per host: (\{.*\})$/m.exec(output);
  if (!match) return '?';
  const counts = Object.values(JSON.parse(match[1]));
  const low = Math.min(...counts);
  const high = Math.max(...counts);
  return low === high ? String(low) : `${low}-${high}`;
}

// ---------------------------------------------------------------- one host count

async function benchCount(count, hostsDir) {
  const stateDir = path.join(hostsDir, `hosts${count}`);
  stateDirs.add(stateDir);
  log(`\n== ${count} hosts: bringing them up`);
  const { inventory, state } = await hostsUp(count, stateDir, `tsb${count}`);
  const ansibleDir = await mkdtemp(path.join(scratchDir, `ansible${count}-`));
  ansibleDirs.add(ansibleDir);
  const env = await ansibleEnv(ansibleDir, state);
  const ansibleArgs = [PLAYBOOK, '-i', inventory, '-f', String(count)];
  const tsrunArgs = ['run', PLAYBOOK, '-i', inventory, '-f', String(count), '-vvv', '--no-color'];

  const result = { count };
  await wipeHosts(state);
  log(`   ansible-playbook, cold`);
  result.ansibleCold = await timed('ansible-playbook cold run', ANSIBLE_PLAYBOOK, ansibleArgs, { env });
  checkRun('ansible-playbook cold run', result.ansibleCold.output, state, { noop: false });
  log(`   ansible-playbook, no-op re-run`);
  const ansibleBefore = await timed('ansible-playbook no-op run', ANSIBLE_PLAYBOOK, ansibleArgs, { env });
  checkRun('ansible-playbook no-op run', ansibleBefore.output, state, { noop: true });

  await wipeHosts(state);
  log(`   tsrun, cold`);
  result.tsrunCold = await timed('tsrun cold run', TSRUN, tsrunArgs);
  checkRun('tsrun cold run', result.tsrunCold.output, state, { noop: false });
  log(`   tsrun, no-op re-run x${TSRUN_NOOP_RUNS}`);
  const noops = [];
  for (let i = 0; i < TSRUN_NOOP_RUNS; i++) {
    const noop = await timed('tsrun no-op run', TSRUN, tsrunArgs);
    checkRun('tsrun no-op run', noop.output, state, { noop: true });
    noops.push(noop);
  }
  noops.sort((a, b) => a.seconds - b.seconds);
  result.tsrunNoop = {
    ...noops[Math.floor(noops.length / 2)],
    peakMb: Math.max(...noops.map((n) => n.peakMb)),
    range: [noops[0].seconds, noops.at(-1).seconds],
  };

  // ansible-playbook's no-op once more, on the hosts tsrun converged: it must find nothing
  // to change, and its time is the mean of a run before and a run after tsrun's, as this
  // machine's speed drifts over minutes.
  log(`   ansible-playbook, no-op re-run after tsrun's`);
  const ansibleAfter = await timed('ansible-playbook no-op run after tsrun', ANSIBLE_PLAYBOOK, ansibleArgs, { env });
  checkRun("ansible-playbook no-op run after tsrun's", ansibleAfter.output, state, { noop: true });
  await closeControlMasters(ansibleDir);
  result.ansibleNoop = {
    seconds: (ansibleBefore.seconds + ansibleAfter.seconds) / 2,
    peakMb: Math.max(ansibleBefore.peakMb, ansibleAfter.peakMb),
    runs: [ansibleBefore.seconds, ansibleAfter.seconds],
  };

  log(`   tearing down`);
  await hostsDown(stateDir);
  stateDirs.delete(stateDir);
  return result;
}

/** Where a tsrun run's fixed cost goes, measured without any host. */
async function startupCosts() {
  const version = await timed('tsrun --version', TSRUN, ['--version']);
  const bareNode = await timed('node -e 0', process.execPath, ['-e', '0']);
  return { bareNode: bareNode.seconds, version: version.seconds };
}

// ---------------------------------------------------------------- report

function printTable(results) {
  const header = ['hosts', 'tool', 'cold s', 'no-op s', 'cold ratio', 'no-op ratio', 'peak MB', 'round trips cold/no-op'];
  const rows = [];
  for (const r of results) {
    const coldRatio = r.ansibleCold.seconds / r.tsrunCold.seconds;
    const noopRatio = r.ansibleNoop.seconds / r.tsrunNoop.seconds;
    const ansibleNoop = `${sec(r.ansibleNoop)} (${r.ansibleNoop.runs.map((seconds) => seconds.toFixed(2)).join(', ')})`;
    rows.push([String(r.count), 'ansible-playbook', sec(r.ansibleCold), ansibleNoop, '', '', mb(Math.max(r.ansibleCold.peakMb, r.ansibleNoop.peakMb)), '']);
    rows.push([
      String(r.count),
      'tsrun',
      sec(r.tsrunCold),
      `${sec(r.tsrunNoop)} (${r.tsrunNoop.range.map((seconds) => seconds.toFixed(2)).join('-')})`,
      `${coldRatio.toFixed(1)}x`,
      `${noopRatio.toFixed(1)}x`,
      mb(Math.max(r.tsrunCold.peakMb, r.tsrunNoop.peakMb)),
      `${roundTrips(r.tsrunCold.output)}/${roundTrips(r.tsrunNoop.output)}`,
    ]);
  }
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column].length)));
  const format = (row) => row.map((cell, column) => (column < 2 ? cell.padEnd(widths[column]) : cell.padStart(widths[column]))).join('  ');
  console.log(`\n${format(header)}\n${widths.map((width) => '-'.repeat(width)).join('  ')}`);
  for (const row of rows) console.log(format(row));
  console.log(`ansible no-op = mean of a run before and one after tsrun's; tsrun no-op = median (and range) of ${TSRUN_NOOP_RUNS} runs;`);
  console.log('ratio = ansible-playbook time / tsrun time;');
  console.log('peak MB = largest process (GNU time %M); round trips = per host');
}

function printVerdict(results, startup) {
  console.log(`\ntsrun fixed cost: node alone ${startup.bareNode.toFixed(2)} s, tsrun --version ${startup.version.toFixed(2)} s`);
  for (const r of results) {
    const noopRatio = r.ansibleNoop.seconds / r.tsrunNoop.seconds;
    const peak = Math.max(r.tsrunCold.peakMb, r.tsrunNoop.peakMb);
    console.log(
      `${r.count} hosts: no-op ${noopRatio.toFixed(1)}x faster (target ${TARGET_NOOP_RATIO}x: ${noopRatio >= TARGET_NOOP_RATIO ? 'met' : 'MISSED'}), ` +
        `peak ${peak.toFixed(0)} MB (target < ${TARGET_PEAK_MB} MB: ${peak < TARGET_PEAK_MB ? 'met' : 'MISSED'})`,
    );
  }
}

const sec = (measurement) => measurement.seconds.toFixed(2);
const mb = (value) => (Number.isFinite(value) ? value.toFixed(0) : '?');
const log = (text) => console.log(text);

// ---------------------------------------------------------------- main

const stateDirs = new Set();
/** Commands under way, stopped (with their process groups) when the benchmark is interrupted. */
const running = new Set();
const ansibleDirs = new Set();
let scratchDir;

async function tearDown() {
  for (const dir of ansibleDirs) await closeControlMasters(dir).catch(() => undefined);
  for (const stateDir of stateDirs) {
    await hostsDown(stateDir).catch((error) => console.error(`bench: ${error.message}`));
  }
  if (scratchDir) await rm(scratchDir, { recursive: true, force: true });
}

async function preflight() {
  const missing = [];
  if (!existsSync(GNU_TIME)) missing.push(`${GNU_TIME} (Debian package 'time')`);
  if (!existsSync(path.join(REPO_ROOT, 'dist', 'cli', 'main.js'))) missing.push('dist/ (run make build)');
  if (!existsSync(TESTHOSTS_CLI)) missing.push('lab/dist/ (run make build)');
  if ((await run(ANSIBLE_PLAYBOOK, ['--version']).catch(() => ({ code: 1 }))).code !== 0) missing.push("ansible-playbook (Debian package 'ansible-core')");
  if (missing.length) throw new BenchError(`missing: ${missing.join(', ')}`);
  const version = (await mustRun('ansible-playbook --version', ANSIBLE_PLAYBOOK, ['--version'])).split('\n')[0];
  log(
    `tsrun ${(await mustRun('tsrun --version', TSRUN, ['--version'])).trim()} (node ${process.version}) vs ${version}; ${os.cpus().length} CPUs, load ${os.loadavg()[0].toFixed(1)}`,
  );
}

async function main() {
  const { values } = parseArgs({
    options: { 'hosts-dir': { type: 'string' }, counts: { type: 'string', default: '4,20' } },
  });
  if (!values['hosts-dir']) throw new BenchError('usage: node bench/bench.js --hosts-dir DIR [--counts 4,20]');
  const hostsDir = path.resolve(values['hosts-dir']);
  const counts = values.counts.split(',').map(Number);
  if (counts.some((count) => !Number.isInteger(count) || count < 1 || count > 99))
    throw new BenchError(`--counts: whole numbers from 1 to 99, got ${values.counts}`);

  scratchDir = await mkdtemp(path.join(os.tmpdir(), 'tsrun-bench-'));
  await preflight();
  const results = [];
  // One count at a time: each set of hosts needs its own free /24.
  for (const count of counts) results.push(await benchCount(count, hostsDir));
  const startup = await startupCosts();
  printTable(results);
  printVerdict(results, startup);
}

let exitCode = 0;
let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    console.error(`\nbench: ${signal}, tearing down`);
    for (const child of running) {
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {
        // already gone
      }
    }
    tearDown().finally(() => process.exit(130));
  });
}
try {
  await main();
} catch (error) {
  // Once interrupted, the runs fail because their hosts go away: that is not news.
  if (stopping) await new Promise(() => undefined);
  console.error(`\nbench: ${error instanceof BenchError ? error.message : error.stack}`);
  exitCode = 1;
} finally {
  if (!stopping) await tearDown();
}
process.exitCode = exitCode;
