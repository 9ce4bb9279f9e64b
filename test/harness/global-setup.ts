/**
 * Jest globalSetup: the shared test hosts, up once for the whole run.
 *
 * Jest loads this module outside its TypeScript module mapping, so it uses the built
 * harness in dist/ (`make test` builds first). globalTeardown gets the loaded module
 * through globalThis (Jest shares it between the two).
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type * as Lab from '../../src/lab/testhosts.js';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
// Kept equal to TEST_HOSTS_DIR and TEST_HOSTS_COUNT in hosts.ts, which tests import.
const CHECKOUT_ID = createHash('sha1').update(REPO_ROOT).digest('hex');
const TEST_HOSTS_DIR = `/var/lib/tsrun/test-hosts-${CHECKOUT_ID.slice(0, 10)}`;
// Interface and host names of this checkout's own, so test runs of two checkouts can share the machine.
const TEST_HOSTS_PREFIX = `t${CHECKOUT_ID.slice(0, 4)}`;
const TEST_HOSTS_COUNT = 4;

export interface SharedTestHosts {
  lab: typeof Lab;
  stateDir: string;
  /** False when the hosts were already up (brought up by hand): they outlive the run. */
  startedHere: boolean;
}

export default async function globalSetup(): Promise<void> {
  const lab = (await import(pathToFileURL(path.join(REPO_ROOT, 'dist/lab/testhosts.js')).href)) as typeof Lab;
  const status = lab.testHostsStatus(TEST_HOSTS_DIR);
  const alreadyUp = status?.length === TEST_HOSTS_COUNT && status.every((host) => host.up);
  // TSRUN_TEST_SUBNET picks another free range when both defaults are in use on this machine.
  await lab.startTestHosts({ count: TEST_HOSTS_COUNT, stateDir: TEST_HOSTS_DIR, prefix: TEST_HOSTS_PREFIX, subnet: process.env.TSRUN_TEST_SUBNET });
  const shared: SharedTestHosts = { lab, stateDir: TEST_HOSTS_DIR, startedHere: !alreadyUp };
  (globalThis as { tsrunTestHosts?: SharedTestHosts }).tsrunTestHosts = shared;
}
