/**
 * The contract users rely on, on real SSH hosts: --check on fresh hosts predicts the real
 * run and changes nothing; the real run converges; a second run changes nothing.
 */
import path from 'node:path';
import { inHost, REPO_ROOT, testHosts } from '../harness/hosts.js';
import { changedSet, tsrun, type TsrunRun } from '../harness/tsrun.js';

const fixture = path.join(REPO_ROOT, 'test/fixtures/converge');
const playbook = path.join(fixture, 'site.yml');
const hosts = testHosts();
const secret = 's3cr3t-Pa55';

async function wipe(): Promise<void> {
  await Promise.all(
    hosts.hosts.map((host) =>
      inHost(host, '/etc/init.d/tsrun-webapp stop >/dev/null 2>&1; rm -rf /srv/converge /etc/init.d/tsrun-webapp /var/tmp/tsrun-webapp.*'),
    ),
  );
}

async function onEveryHost(script: string): Promise<string[]> {
  return Promise.all(hosts.hosts.map(async (host) => (await inHost(host, script)).stdout.trim()));
}

const run = (...extra: string[]): Promise<TsrunRun> => tsrun(['run', playbook, '-i', hosts.inventoryFile, '--output', 'json', ...extra]);

describe('converging real hosts with every module and keyword', () => {
  let check: TsrunRun;
  let first: TsrunRun;
  let second: TsrunRun;
  let afterCheck: string[];

  beforeAll(async () => {
    await wipe();
    check = await run('--check');
    // Only what this playbook writes: other test files use /srv on the same hosts meanwhile.
    afterCheck = await onEveryHost(
      'test -e /srv/converge && echo /srv/converge; test -e /etc/init.d/tsrun-webapp && echo init-script; ls /var/tmp | grep tsrun-webapp; true',
    );
    first = await run();
    second = await run();
  }, 180_000);
  afterAll(wipe);

  test('check mode succeeds and changes nothing on fresh hosts', async () => {
    expect(check.stderr).toBe('');
    expect(check.code).toBe(0);
    expect(afterCheck).toEqual(hosts.hosts.map(() => ''));
  });

  test('check mode reports exactly the changes of the real run that follows', () => {
    expect(first.code).toBe(0);
    expect(changedSet(first).length).toBeGreaterThan(20 * hosts.hosts.length);
    expect(changedSet(check)).toEqual(changedSet(first));
  });

  test('the second run reports changed=0 on every host', () => {
    expect(second.code).toBe(0);
    expect(Object.keys(second.recap!)).toEqual(hosts.hosts.map((h) => h.name));
    for (const stats of Object.values(second.recap!)) expect(stats).toMatchObject({ changed: 0, failed: 0, unreachable: 0 });
    expect(changedSet(second)).toEqual([]);
  });

  test('the recap counts rescued blocks and ignored failures', () => {
    for (const stats of Object.values(first.recap!)) expect(stats).toMatchObject({ failed: 0, rescued: 1, ignored: 2 });
  });

  test('files, templates, links and modes are what the playbook says', async () => {
    const [first] = hosts.hosts;
    const read = (script: string) => inHost(first!, script).then((r) => r.stdout);
    expect(await read('cat /srv/converge/app.conf; stat -c %a /srv/converge/app.conf')).toBe('port=5000\n640\n');
    expect(await read('cat /srv/converge/settings.conf')).toBe('debug=false\n');
    expect(await read('readlink /srv/converge/current.conf')).toBe('/srv/converge/app.conf\n');
    expect(await read('cat /srv/converge/motd')).toBe('Welcome to a converged host.\n');
    expect(await read('cat /srv/converge/hosts.txt')).toBe('# BEGIN ANSIBLE MANAGED BLOCK\n10.0.0.1 alpha\n10.0.0.2 beta\n# END ANSIBLE MANAGED BLOCK\n');
    expect(await read('ls /srv/converge | grep -E "^(pkg|only)-"')).toBe('only-alpha\nonly-gamma\npkg-0-alpha\npkg-1-beta\npkg-2-gamma\n');
    expect(await read('stat -c %a /srv/converge/common')).toBe('750\n');
    expect(await read('cat /srv/converge/webapp/app.ini')).toBe(
      `# demo on ${first!.name}\n[server]\nlisten = 8080\nworkers = 2\nmodule.1 = ALPHA\nmodule.2 = BETA\nmodule.3 = GAMMA\nmode = cluster\n`,
    );
    expect(await read('cat /srv/converge/rescued; test -e /srv/converge/never || echo never-absent')).toBe('rescued\nnever-absent\n');
    expect(await read('test -e /srv/converge/tagged || echo untagged-by-default')).toBe('untagged-by-default\n');
    expect(await read(`cat /srv/converge/secret; stat -c %a /srv/converge/secret`)).toBe(`${secret}\n600\n`);
  });

  test('each host has its own facts, environment and set_fact values', async () => {
    expect(await onEveryHost('cat /srv/converge/greeting /srv/converge/marker')).toEqual(hosts.hosts.map((h) => `hello ${h.name}\n${h.name}-5000`));
  });

  test('until retries the task until the condition holds', () => {
    const counts = first.results.filter((r) => r.task === 'Count until two').map((r) => [r.result.stdout, r.result.attempts]);
    expect(counts).toEqual(hosts.hosts.map(() => ['2', 2]));
  });

  test('until ends the retries when it holds, also on a failed result (which stays failed)', () => {
    const results = first.results.filter((r) => r.task === 'Until judges a failed result too');
    expect(results.map((r) => [r.status, r.result.attempts, r.result.rc])).toEqual(hosts.hosts.map(() => ['failed', 1, 3]));
  });

  test('run_once with delegate_to writes on the first host only', async () => {
    expect(await onEveryHost('cat /srv/converge/run-once 2>/dev/null || echo none')).toEqual(
      hosts.hosts.map((_, index) => (index === 0 ? 'written once' : 'none')),
    );
  });

  test('serial runs the play in batches; check_mode: no runs even in check mode', async () => {
    const names = hosts.hosts.map((h) => h.name);
    expect(await onEveryHost('cat /srv/converge/batch')).toEqual([0, 0, 2, 2].map((start) => names.slice(start, start + 2).join(',')));
    const readOnly = check.results.filter((r) => r.task === 'Read-only, even in check mode').map((r) => r.result.stdout);
    expect(readOnly.sort()).toEqual(names);
  });

  test('services start, and handlers run once, only when notified', async () => {
    expect(await onEveryHost('/etc/init.d/tsrun-webapp status && echo running; cat /var/tmp/tsrun-webapp.log; cat /srv/converge/reloaded')).toEqual(
      hosts.hosts.map(() => 'running\nstart\nrestart\nconfig reloaded'),
    );
  });

  test('secrets and no_log results never reach the output', () => {
    for (const output of [check.stdout, first.stdout, second.stdout]) expect(output).not.toContain(secret);
    const secretTask = first.results.find((r) => r.task === 'A secret file')!;
    expect(secretTask.result).toEqual({ changed: true, censored: expect.stringContaining('no_log') });
  });

  test('--tags selects tagged tasks, including those tagged never', async () => {
    const tagged = await run('--tags', 'extra');
    expect(tagged.code).toBe(0);
    expect([...new Set(tagged.results.map((r) => r.task))]).toEqual(['Gathering Facts', 'A file only with the extra tag']);
    expect(await onEveryHost('cat /srv/converge/tagged')).toEqual(hosts.hosts.map(() => 'tagged'));
  });
});
