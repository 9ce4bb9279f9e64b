/**
 * What tests import to reach the shared test hosts (brought up once per run by
 * `global-setup.ts`) and to look inside a host without going through tsrun.
 */
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { readTestHosts, type TestHost, type TestHosts } from '../../lab/src/testhosts.js';
import { command } from '../../src/transport/quote.js';
import { LocalTransport } from '../../src/transport/local.js';
import type { ExecResult } from '../../src/transport/types.js';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Where the shared hosts of a test run live. */
export const TEST_HOSTS_DIR = `/var/lib/tsrun/test-hosts-${createHash('sha1').update(REPO_ROOT).digest('hex').slice(0, 10)}`;
export const TEST_HOSTS_COUNT = 4;

/** The shared test hosts; fails with the fix when the run did not bring them up. */
export function testHosts(stateDir: string = TEST_HOSTS_DIR): TestHosts {
  const hosts = readTestHosts(stateDir);
  if (!hosts) {
    throw new Error(
      `no test hosts in ${stateDir}: jest's globalSetup brings them up (test/harness/global-setup.ts), ` +
        `or run: node lab/dist/testhosts-cli.js up --count ${TEST_HOSTS_COUNT} --state-dir ${stateDir}`,
    );
  }
  return hosts;
}

/**
 * Run a shell script inside a host's mount, UTS and network namespaces, as root, straight
 * from the test process: to check what a host really holds, independently of tsrun.
 */
export function inHost(host: TestHost, script: string, stdin?: string): Promise<ExecResult> {
  const enter = command('nsenter', '-t', host.sshdPid, '-m', '-u', '-n', 'sh', '-c', script);
  return new LocalTransport().exec(enter, stdin === undefined ? {} : { stdin });
}
