/**
 * The k8s module against a real Kubernetes control plane (etcd, kube-apiserver,
 * controller-manager, scheduler, kwok): check mode predicts the real run, re-applying an
 * unchanged manifest is not a change, --diff shows what changes, waits hold, and
 * deleting a namespace waits until it is gone.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startControlPlane, stopControlPlane } from '../../lab/src/control-plane.js';
import { REPO_ROOT } from '../harness/hosts.js';
import { changedSet, tsrun, type TsrunRun } from '../harness/tsrun.js';

const fixture = path.join(REPO_ROOT, 'test/fixtures/k8s');
const stateDir = `/var/lib/tsrun/k8s-module-test-${createHash('sha1').update(REPO_ROOT).digest('hex').slice(0, 10)}`;
let kubeconfig = '';
let inventory = '';

const run = (playbook: string, ...extra: string[]): Promise<TsrunRun> =>
  tsrun(['run', path.join(fixture, playbook), '-i', inventory, '--output', 'json', '-e', `kubeconfig=${kubeconfig}`, ...extra]);
const kubectl = (...args: string[]): string => execFileSync('kubectl', ['--kubeconfig', kubeconfig, ...args], { encoding: 'utf8' });

describe('the k8s module on a real API server', () => {
  let check: TsrunRun;
  let first: TsrunRun;
  let second: TsrunRun;

  beforeAll(async () => {
    const plane = await startControlPlane({ stateDir, bindAddress: '127.0.0.1', securePort: 16443 });
    kubeconfig = plane.kubeconfig;
    mkdirSync(stateDir, { recursive: true });
    inventory = path.join(stateDir, 'hosts.ini');
    writeFileSync(inventory, 'controller ansible_connection=local\n');
    await run('absent.yml');
    check = await run('site.yml', '--check');
    first = await run('site.yml');
    second = await run('site.yml');
  }, 600_000);

  afterAll(async () => {
    await run('absent.yml');
    await stopControlPlane(stateDir);
  }, 120_000);

  test('check mode changes nothing and reports what the real run changes', () => {
    expect(check.stderr).toBe('');
    expect(check.code).toBe(0);
    expect(first.code).toBe(0);
    expect(changedSet(first)).toEqual([
      'controller | A ConfigMap from a definition',
      'controller | A Deployment from a template, waited for',
      'controller | A fake worker node that kwok keeps Ready',
      'controller | Several objects from one file',
      'controller | The namespace, by kind and name',
    ]);
    expect(changedSet(check)).toEqual(changedSet(first));
  });

  test('applying unchanged manifests again is not a change', () => {
    expect(second.code).toBe(0);
    expect(changedSet(second)).toEqual([]);
  });

  test('the objects exist as declared, and the wait held', () => {
    expect(kubectl('get', 'configmap', 'settings', '-n', 'tsrun-k8s-test', '-o', 'jsonpath={.data.greeting}')).toBe('hello');
    expect(kubectl('get', 'secret,service', '-n', 'tsrun-k8s-test', '-o', 'name')).toContain('service/web');
    expect(kubectl('get', 'deployment', 'web', '-n', 'tsrun-k8s-test', '-o', 'jsonpath={.status.availableReplicas}')).toBe('2');
    const managers = kubectl('get', 'configmap', 'settings', '-n', 'tsrun-k8s-test', '-o', 'jsonpath={.metadata.managedFields[*].manager}');
    expect(managers.split(' ')).toContain('tsrun');
  });

  test('a changed value is one change, shown as a diff', async () => {
    const changed = await tsrun(['run', path.join(fixture, 'site.yml'), '-i', inventory, '-e', `kubeconfig=${kubeconfig}`, '-e', 'greeting=bonjour', '--diff']);
    expect(changed.code).toBe(0);
    expect(changed.stdout).toMatch(/-\s+greeting: hello\n\+\s+greeting: bonjour/);
    expect(changed.stdout).toMatch(/controller\s+: ok=5\s+changed=1 /);
  });

  test('state: absent deletes the namespace and waits until it is gone', async () => {
    const removed = await run('absent.yml');
    expect(removed.code).toBe(0);
    expect(changedSet(removed)).toEqual(['controller | The namespace and everything in it, waiting until it is gone', 'controller | The node']);
    expect(kubectl('get', 'namespaces', '-o', 'name')).not.toContain('namespace/tsrun-k8s-test');
    const again = await run('absent.yml');
    expect(changedSet(again)).toEqual([]);
  });
});
