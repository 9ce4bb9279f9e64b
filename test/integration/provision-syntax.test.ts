/**
 * The shipped provisioning content loads as a user runs it: both playbooks pass
 * --syntax-check and --list-tasks with the example inventory, and a wrong setting fails
 * in the first task, naming the variable and what it expects, before anything is touched.
 */
import path from 'node:path';
import { REPO_ROOT } from '../harness/hosts.js';
import { tsrun } from '../harness/tsrun.js';

const inventory = path.join(REPO_ROOT, 'inventory/hosts.ini');
const playbook = (name: string): string => path.join(REPO_ROOT, 'playbooks', `${name}.yml`);

describe.each(['provision', 'unprovision'])('playbooks/%s.yml', (name) => {
  test('passes --syntax-check', async () => {
    const run = await tsrun(['run', playbook(name), '-i', inventory, '--syntax-check']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
  });

  test('lists its plays and tasks', async () => {
    const run = await tsrun(['run', playbook(name), '-i', inventory, '--list-tasks']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('validate : Check the registry settings');
    expect(run.stdout).toContain(name === 'provision' ? 'deploy : Deploy the registry' : 'remove : Delete the registry namespace');
    expect(run.stdout).toContain(
      name === 'provision' ? "nodes : Write containerd's hosts.toml for the registry" : "nodes : Put containerd's config.toml back as it was",
    );
  });
});

describe('a wrong setting', () => {
  test.each([
    ['docker_reg_service_ip=not-an-ip', 'docker_reg_service_ip', 'expected an IP address'],
    ['docker_reg_tls=letsencrypt', 'docker_reg_tls', 'expected cert-manager, selfsigned or none'],
    ['docker_reg_pvc_size=lots', 'docker_reg_pvc_size', 'expected a Kubernetes quantity'],
  ])('%s fails the first task, naming the variable, and nothing else runs', async (extra, variable, expects) => {
    const run = await tsrun(['run', playbook('provision'), '-i', 'localhost,', '-e', 'docker_reg_service_ip=198.51.100.50', '-e', extra, '--output', 'json']);
    expect(run.code).toBe(2);
    expect(new Set(run.results.map((r) => r.task))).toEqual(new Set(['validate : Check the registry settings']));
    const failed = run.results.filter((r) => r.status === 'failed');
    expect(failed.map((r) => r.item)).toEqual([variable]);
    expect(String(failed[0]!.result.msg)).toContain(`${variable}: ${expects}`);
    expect(run.recap?.localhost).toMatchObject({ failed: 1, changed: 0 });
  });

  test('a missing service address is named too', async () => {
    const run = await tsrun(['run', playbook('unprovision'), '-i', 'localhost,', '--output', 'json']);
    expect(run.code).toBe(2);
    const failed = run.results.filter((r) => r.status === 'failed');
    expect(failed.map((r) => r.item)).toEqual(['docker_reg_service_ip']);
    expect(String(failed[0]!.result.msg)).toBe('docker_reg_service_ip: expected an IP address (the LoadBalancer address nodes reach the registry on), got ""');
  });
});
