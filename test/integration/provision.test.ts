/**
 * `tsrun provision` / `tsrun unprovision` in the lab: the registry runs for real, every
 * worker pulls through it, a second run and check mode change nothing, unprovision puts
 * every node back, and provisioning again works — for the mirror and private modes,
 * cert-manager, self-signed and plain-HTTP TLS, with htpasswd on and off.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { defaultStateDir, labDown, labUp, SEEDED_IMAGE } from '../../lab/src/lab.js';
import { readTestHosts, type TestHost } from '../../lab/src/testhosts.js';
import { inHost } from '../harness/hosts.js';
import { changedSet, tsrun, type TsrunRun } from '../harness/tsrun.js';

const stateDir = `${defaultStateDir()}-provision-test`;
const inventoryDir = path.join(stateDir, 'inventory');
const inventory = path.join(inventoryDir, 'hosts.ini');
let workers: TestHost[] = [];
let controller: TestHost;

const provision = (command: 'provision' | 'unprovision', ...extra: string[]): Promise<TsrunRun> =>
  tsrun([command, '-i', inventory, '--output', 'json', '-e', `docker_reg_secrets_dir=${path.join(stateDir, 'secrets')}`, ...extra]);

/** Every runtime file on the workers, with its checksum: what "as before" means. */
const NODE_FILES =
  'find /etc/containerd /etc/rancher /etc/docker -type f -exec sha256sum {} + 2>/dev/null | sort; find /etc/containerd /etc/rancher /etc/docker -type d 2>/dev/null | sort';
const nodeFiles = (): Promise<string[]> => Promise.all(workers.map(async (w) => (await inHost(w, NODE_FILES)).stdout));

function expectSuccess(run: TsrunRun): void {
  const failures = run.results.filter((r) => r.status === 'failed' || r.status === 'unreachable');
  expect(failures.map((r) => `${r.host} ${r.task}: ${JSON.stringify(r.result.msg ?? r.result.stderr)}`)).toEqual([]);
  expect(run.code).toBe(0);
}

const namespaces = async (): Promise<string> => (await inHost(controller, 'kubectl get namespaces -o name')).stdout;

beforeAll(async () => {
  await labUp({ stateDir, inventoryDir, workers: 3, prefix: 'labp', log: () => undefined });
  const hosts = readTestHosts(path.join(stateDir, 'hosts'))!.hosts;
  [controller, ...workers] = hosts as [TestHost, ...TestHost[]];
}, 1_800_000);

afterAll(async () => {
  await labDown({ stateDir });
}, 120_000);

describe('a pull-through mirror with a cert-manager certificate, anonymous pulls', () => {
  let before: string[];
  let check: TsrunRun;
  let first: TsrunRun;

  beforeAll(async () => {
    before = await nodeFiles();
    check = await provision('provision', '--check');
    first = await provision('provision');
  }, 600_000);

  test('check mode on a fresh cluster predicts the real run and changes nothing', async () => {
    expectSuccess(check);
    expectSuccess(first);
    expect(changedSet(first).length).toBeGreaterThan(10);
    expect(changedSet(check)).toEqual(changedSet(first));
  });

  test('every worker pulled the seeded image through the mirror, which now holds it', async () => {
    const image = `docker.io/${SEEDED_IMAGE.repository}:${SEEDED_IMAGE.tag}`;
    for (const worker of workers) {
      expect((await inHost(worker, 'ctr --address /run/containerd/containerd.sock -n k8s.io images ls -q')).stdout).toContain(image);
    }
    // The lab's volumes are directories on this machine.
    const volumes = path.join(stateDir, 'daemon', 'volumes');
    const stored = execFileSync('find', [volumes, '-type', 'd', '-path', `*/repositories/${SEEDED_IMAGE.repository}`], { encoding: 'utf8' });
    expect(stored).toContain(`repositories/${SEEDED_IMAGE.repository}`);
  });

  test('a second run, and check mode, change nothing', async () => {
    const again = await provision('provision');
    expectSuccess(again);
    expect(changedSet(again)).toEqual([]);
    const checkAgain = await provision('provision', '--check');
    expectSuccess(checkAgain);
    expect(changedSet(checkAgain)).toEqual([]);
  }, 300_000);

  test('unprovision removes the namespace and puts every node file back; a second one is a no-op', async () => {
    const removed = await provision('unprovision');
    expectSuccess(removed);
    expect(await namespaces()).not.toContain('namespace/docker-registry');
    expect(await nodeFiles()).toEqual(before);
    const again = await provision('unprovision');
    expectSuccess(again);
    expect(changedSet(again)).toEqual([]);
  }, 300_000);

  test('provisioning again works', async () => {
    const again = await provision('provision');
    expectSuccess(again);
    expect(changedSet(again).length).toBeGreaterThan(10);
    expectSuccess(await provision('unprovision'));
  }, 300_000);
});

describe.each([
  ['a private registry, self-signed TLS, htpasswd', ['-e', 'docker_reg_mode=private', '-e', 'docker_reg_tls=selfsigned', '-e', 'docker_reg_auth=htpasswd']],
  ['a mirror over plain HTTP with htpasswd', ['-e', 'docker_reg_tls=none', '-e', 'docker_reg_auth=htpasswd']],
  ['a mirror with a self-signed certificate, anonymous', ['-e', 'docker_reg_tls=selfsigned', '-e', 'docker_reg_auth=none']],
])('%s', (_name, settings) => {
  test('provisions and verifies from every worker, re-runs with no change, and unprovisions', async () => {
    const before = await nodeFiles();
    const first = await provision('provision', ...settings);
    expectSuccess(first);
    const verified = first.results.filter((r) => r.task.startsWith('verify : ') && r.status !== 'skipped').map((r) => r.host);
    for (const worker of workers) expect(verified).toContain(worker.name);
    const again = await provision('provision', ...settings);
    expectSuccess(again);
    expect(changedSet(again)).toEqual([]);
    expectSuccess(await provision('unprovision', ...settings));
    expect(await nodeFiles()).toEqual(before);
    expect(await namespaces()).not.toContain('namespace/docker-registry');
  }, 600_000);
});
