/**
 * The SSH transport on real sshd hosts, through the command line: host key checking in
 * every mode and known_hosts form, password login and sudo, a key held by ssh-agent, a
 * jump host, one connection per host per run, and an unreachable host that does not stop
 * the others.
 */
import { execFile } from 'node:child_process';
import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { inHost, REPO_ROOT, testHosts } from '../harness/hosts.js';
import { tsrun, type TsrunRun } from '../harness/tsrun.js';

const hosts = testHosts();
const [host1, host2] = hosts.hosts as [(typeof hosts.hosts)[0], (typeof hosts.hosts)[0]];
const fixtures = path.join(REPO_ROOT, 'test/fixtures/cli');
const whoami = path.join(fixtures, 'whoami.yml');
const sshdLog = (host: { name: string }): string => path.join(hosts.stateDir, 'hosts', host.name, 'sshd.log');
const run = promisify(execFile);

let dir: string;
let knownHostsLines: string[];

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'tsrun-transport-'));
  knownHostsLines = (await readFile(hosts.knownHostsFile, 'utf8')).trim().split('\n');
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** host1's known_hosts line, and a known_hosts file in the test's directory. */
const lineOf = (host: { address: string }): string => knownHostsLines.find((line) => line.startsWith(`${host.address} `))!;
const keyOf = (host: { address: string }): string => lineOf(host).split(' ').slice(1).join(' ');

async function file(name: string, text: string): Promise<string> {
  const target = path.join(dir, name);
  await writeFile(target, text);
  return target;
}

/** An inventory of one host as root with the test key, plus extra host variables. */
function rootInventory(name: string, vars: string): Promise<string> {
  return file(`${name}.ini`, `${host1.name} ${vars} ansible_user=root ansible_ssh_private_key_file=${hosts.keyFile}\n`);
}

const tsrunJson = (playbook: string, inventory: string, ...extra: string[]): Promise<TsrunRun> =>
  tsrun(['run', playbook, '-i', inventory, '--output', 'json', ...extra]);

const failureOf = (result: TsrunRun): string => String(result.results.find((r) => r.status === 'unreachable' || r.status === 'failed')?.result.msg);
const stdoutOf = (result: TsrunRun, task: string): unknown[] => result.results.filter((r) => r.task === task).map((r) => r.result.stdout);

describe('host key checking', () => {
  let inventory: string;
  beforeAll(async () => {
    inventory = await rootInventory('keys', `ansible_host=${host1.address}`);
  });
  const withKnownHosts = (knownHosts: string, mode: string): Promise<TsrunRun> =>
    tsrunJson(whoami, inventory, '--known-hosts', knownHosts, '--host-key-checking', mode);

  test('strict refuses a host missing from known_hosts, naming the host and the file (exit 4)', async () => {
    const knownHosts = await file('without-host1', `${lineOf(host2)}\n`);
    const result = await withKnownHosts(knownHosts, 'strict');
    expect(result.code).toBe(4);
    expect(failureOf(result)).toContain(`host key for ${host1.address} is not in ${knownHosts}`);
    expect(result.recap![host1.name]).toMatchObject({ unreachable: 1 });
  });

  test('accept-new records a new host once; strict then accepts it', async () => {
    const knownHosts = await file('accept-new', `${lineOf(host2)}\n`);
    const accepted = await withKnownHosts(knownHosts, 'accept-new');
    expect(accepted.code).toBe(0);
    const recorded = (await readFile(knownHosts, 'utf8')).trim().split('\n');
    expect(recorded).toEqual([lineOf(host2), lineOf(host1)]);
    const strict = await withKnownHosts(knownHosts, 'strict');
    expect(strict.code).toBe(0);
    expect((await readFile(knownHosts, 'utf8')).trim().split('\n')).toEqual(recorded);
  });

  test('a key that does not match refuses the host, even with accept-new', async () => {
    const knownHosts = await file('mismatch', `${host1.address} ${keyOf(host2)}\n`);
    for (const mode of ['strict', 'accept-new']) {
      const result = await withKnownHosts(knownHosts, mode);
      expect(result.code).toBe(4);
      expect(failureOf(result)).toContain(`host key for ${host1.address} does not match ${knownHosts}`);
    }
    expect(await readFile(knownHosts, 'utf8')).toBe(`${host1.address} ${keyOf(host2)}\n`);
  });

  test('hashed known_hosts entries (ssh-keygen -H) are matched', async () => {
    const knownHosts = await file('hashed', `${knownHostsLines.join('\n')}\n`);
    await run('ssh-keygen', ['-q', '-H', '-f', knownHosts]);
    expect(await readFile(knownHosts, 'utf8')).not.toContain(host1.address);
    expect((await withKnownHosts(knownHosts, 'strict')).code).toBe(0);
  });

  test('off connects without any known_hosts entry', async () => {
    const knownHosts = await file('empty', '');
    expect((await withKnownHosts(knownHosts, 'off')).code).toBe(0);
    expect(await readFile(knownHosts, 'utf8')).toBe('');
  });

  describe('a host on another port uses the [host]:port form', () => {
    let forwarder: net.Server;
    let port: number;
    beforeAll(async () => {
      // A plain TCP relay to host1's sshd: the same host key, seen on another port.
      forwarder = net.createServer((client) => {
        const upstream = net.connect({ host: host1.address, port: 22 });
        client.pipe(upstream).pipe(client);
        const close = () => {
          client.destroy();
          upstream.destroy();
        };
        client.on('error', close);
        upstream.on('error', close);
      });
      await new Promise<void>((resolve) => forwarder.listen(0, '127.0.0.1', resolve));
      port = (forwarder.address() as net.AddressInfo).port;
    });
    afterAll(() => new Promise<void>((resolve) => forwarder.close(() => resolve())));

    test('the [127.0.0.1]:port entry matches; the bare address only with the very key (ssh checks it without the port)', async () => {
      const relayInventory = await rootInventory('relay', `ansible_host=127.0.0.1 ansible_port=${port}`);
      const bare = await file('bare', `127.0.0.1 ${keyOf(host2)}\n`);
      const bracketed = await file('bracketed', `[127.0.0.1]:${port} ${keyOf(host1)}\n`);
      const refused = await tsrunJson(whoami, relayInventory, '--known-hosts', bare, '--host-key-checking', 'strict');
      expect(refused.code).toBe(4);
      expect(failureOf(refused)).toContain(`host key for [127.0.0.1]:${port} is not in ${bare}`);
      const accepted = await tsrunJson(whoami, relayInventory, '--known-hosts', bracketed, '--host-key-checking', 'strict');
      expect(accepted.code).toBe(0);
      expect(stdoutOf(accepted, 'Who am I')).toEqual(['root']);
      const bareSameKey = await file('bare-same-key', `127.0.0.1 ${keyOf(host1)}\n`);
      expect((await tsrunJson(whoami, relayInventory, '--known-hosts', bareSameKey, '--host-key-checking', 'strict')).code).toBe(0);
    });
  });
});

describe('password login and become', () => {
  const password = hosts.user.password;
  const wrongBecome = 'Wr0ng-Become-Pw';
  let become: TsrunRun;
  let wrong: TsrunRun;
  let none: TsrunRun;
  beforeAll(async () => {
    const base = `${host1.name} ansible_host=${host1.address} ansible_user=${hosts.user.name} ansible_password=${password} tsrun_known_hosts=${hosts.knownHostsFile}`;
    const good = await file('deploy.ini', `${base} ansible_become_password=${password}\n`);
    const bad = await file('deploy-wrong.ini', `${base} ansible_become_password=${wrongBecome}\n`);
    const missing = await file('deploy-no-become.ini', `${base}\n`);
    [become, wrong, none] = await Promise.all([
      tsrunJson(path.join(fixtures, 'become.yml'), good),
      tsrunJson(path.join(fixtures, 'become.yml'), bad),
      tsrunJson(path.join(fixtures, 'become.yml'), missing),
    ]);
  });

  test('logs in with a password, and becomes root with sudo and the become password', () => {
    expect(become.code).toBe(0);
    expect(stdoutOf(become, 'Who logs in')).toEqual([hosts.user.name]);
    expect(stdoutOf(become, 'Who am I with become')).toEqual(['root']);
  });

  test('a wrong become password fails that host clearly, without printing any password', () => {
    expect(wrong.code).toBe(2);
    expect(stdoutOf(wrong, 'Who logs in')).toEqual([hosts.user.name]);
    const failure = wrong.results.find((r) => r.task === 'Who am I with become')!;
    expect(failure.status).toBe('failed');
    expect(failure.result.msg).toBe(
      `become root failed for ${hosts.user.name}@${host1.address}: sudo refused the become password: check ansible_become_password`,
    );
    expect(wrong.recap![host1.name]).toMatchObject({ ok: 1, failed: 1, unreachable: 0 });
    for (const output of [wrong.stdout, wrong.stderr, become.stdout, become.stderr]) {
      expect(output).not.toContain(wrongBecome);
      expect(output).not.toContain(password);
    }
  });

  test('without a become password, the failure says which variable to set', () => {
    expect(none.code).toBe(2);
    expect(none.results.find((r) => r.task === 'Who am I with become')!.result.msg).toBe(
      `become root failed for ${hosts.user.name}@${host1.address}: sudo needs a password: set ansible_become_password`,
    );
  });
});

describe('login with a key held by ssh-agent', () => {
  let agent: { socket: string; pid: string };
  beforeAll(async () => {
    const socket = path.join(dir, 'agent.sock');
    const started = await run('ssh-agent', ['-a', socket, '-s']);
    agent = { socket, pid: /SSH_AGENT_PID=(\d+)/.exec(started.stdout)![1]! };
    await run('ssh-add', ['-q', hosts.keyFile], { env: { ...process.env, SSH_AUTH_SOCK: socket } });
  });
  afterAll(() => {
    if (agent) process.kill(Number(agent.pid));
  });

  test('with no key file and no password, the agent key logs in', async () => {
    const inventory = await file('agent.ini', `${host1.name} ansible_host=${host1.address} ansible_user=root tsrun_known_hosts=${hosts.knownHostsFile}\n`);
    const result = await tsrun(['run', whoami, '-i', inventory, '--output', 'json'], { env: { SSH_AUTH_SOCK: agent.socket } });
    expect(result.code).toBe(0);
    expect(stdoutOf(result, 'Who am I')).toEqual(['root']);
    const withoutAgent = await tsrun(['run', whoami, '-i', inventory, '--output', 'json'], { env: { SSH_AUTH_SOCK: '' } });
    expect(withoutAgent.code).toBe(4);
    expect(failureOf(withoutAgent)).toBe(`authentication failed for root@${host1.address}:22 (tried no credentials)`);
  });
});

describe('paths that look like shell', () => {
  // Read scripts run in the connection's own shell: a path must stay a path there too.
  const odd = `/srv/transport-odd/it's "$HOME" \`id\` $(id) ;x`;
  afterAll(() => inHost(host1, 'rm -rf /srv/transport-odd'));

  test('are created, read back and left alone on a re-run; nothing in them is expanded, and reads leave no variables', async () => {
    await inHost(host1, 'rm -rf /srv/transport-odd');
    const playbook = await file(
      'odd.yml',
      `- hosts: all
  gather_facts: false
  tasks:
    - name: Directory
      file: { path: /srv/transport-odd, state: directory }
    - name: Odd file
      copy: { dest: ${JSON.stringify(odd)}, content: "odd\\n" }
    - name: Look at it
      stat: { path: ${JSON.stringify(odd)} }
      register: seen
    - name: It is there
      assert: { that: [seen.stat.exists, "seen.stat.size == 4"] }
    - name: Who am I
      command: whoami
      changed_when: false
    - name: What a read left behind
      shell: echo "\${p-unset} \${k-unset} \${s-unset} \${__tsrun_p-unset}"
      changed_when: false
`,
    );
    const inventory = await rootInventory('odd', `ansible_host=${host1.address} tsrun_known_hosts=${hosts.knownHostsFile}`);
    const first = await tsrunJson(playbook, inventory);
    expect(first.code).toBe(0);
    expect(stdoutOf(first, 'Who am I')).toEqual(['root']);
    // Reads run in the connection's shell; a later command must not see their variables.
    expect(stdoutOf(first, 'What a read left behind')).toEqual(['unset unset unset unset']);
    const again = await tsrunJson(playbook, inventory);
    expect(again.code).toBe(0);
    expect(again.recap?.[host1.name]?.changed).toBe(0);
    const onHost = await inHost(host1, `cat ${JSON.stringify(odd).replace(/\$/g, '\\$').replace(/`/g, '\\`')}; ls /srv/transport-odd`);
    expect(onHost.stdout).toBe(`odd\n${odd.slice('/srv/transport-odd/'.length)}\n`);
  });
});

describe('a jump host', () => {
  test('reaches a host only its jump host can name, and the host sees the jump host connect', async () => {
    // host2 is named by its host name, which only the hosts' own /etc/hosts resolve.
    const knownHosts = await file('jump-known-hosts', `${lineOf(host1)}\n${host2.name} ${keyOf(host2)}\n`);
    const vars = `ansible_host=${host2.name} ansible_user=root ansible_ssh_private_key_file=${hosts.keyFile} tsrun_known_hosts=${knownHosts}`;
    const direct = await file('direct.ini', `${host2.name} ${vars}\n`);
    const jumped = await file('jump.ini', `${host2.name} ${vars} ansible_ssh_common_args='-o ProxyJump=root@${host1.address}'\n`);
    const before = (await readFile(sshdLog(host2), 'utf8')).length;

    const unreachable = await tsrunJson(whoami, direct, '-T', '2');
    expect(unreachable.code).toBe(4);
    const through = await tsrunJson(whoami, jumped);
    expect(through.code).toBe(0);
    expect(stdoutOf(through, 'Who am I')).toEqual(['root']);
    const logged = (await readFile(sshdLog(host2), 'utf8')).slice(before);
    expect(logged).toMatch(new RegExp(`Accepted publickey for root from ${host1.address.replace(/\./g, '\\.')} `));
  });
});

describe('one connection per host per run', () => {
  let keyFile: string;
  let fingerprint: string;
  let authorizedLine: string;
  const authorizedKeys = path.join(hosts.stateDir, 'authorized_keys');

  // A key of this test's own, so its logins are told apart from other runs on the shared hosts.
  beforeAll(async () => {
    keyFile = path.join(dir, 'id_roundtrips');
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'tsrun-roundtrips-test', '-f', keyFile]);
    authorizedLine = (await readFile(`${keyFile}.pub`, 'utf8')).trim();
    fingerprint = (await run('ssh-keygen', ['-l', '-f', `${keyFile}.pub`])).stdout.split(' ')[1]!;
    await appendFile(authorizedKeys, `${authorizedLine}\n`);
  });
  afterAll(async () => {
    const lines = (await readFile(authorizedKeys, 'utf8')).split('\n').filter((line) => line !== authorizedLine);
    await writeFile(authorizedKeys, lines.join('\n'));
  });

  test('a 10-task no-op run makes one connection and at most one round trip per task plus facts', async () => {
    const logins = async () =>
      (await readFile(sshdLog(host1), 'utf8')).split('\n').filter((line) => line.includes('Accepted publickey') && line.includes(fingerprint)).length;
    const inventory = await file(
      'roundtrips.ini',
      `${host1.name} ansible_host=${host1.address} ansible_user=root ansible_ssh_private_key_file=${keyFile} tsrun_known_hosts=${hosts.knownHostsFile}\n`,
    );
    const before = await logins();
    const result = await tsrun(['run', path.join(fixtures, 'ten-noops.yml'), '-i', inventory, '-vvv']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/ok=11 +changed=0 /);
    const trips = JSON.parse(/SSH round trips per host: (\{.*\})/.exec(result.stdout)![1]!) as Record<string, number>;
    expect(Object.keys(trips)).toEqual([host1.name]);
    expect(trips[host1.name]).toBeLessThanOrEqual(11);
    expect(trips[host1.name]).toBeGreaterThanOrEqual(10);
    expect((await logins()) - before).toBe(1);
  });
});

describe('an unreachable host', () => {
  test('exits 4 with the host counted unreachable, and the other hosts still run', async () => {
    const ghostAddress = host1.address.replace(/\.\d+$/, '.250');
    const inventory = await file(
      'ghost.ini',
      [
        `ghost ansible_host=${ghostAddress}`,
        ...hosts.hosts.map((host) => `${host.name} ansible_host=${host.address}`),
        '[all:vars]',
        `ansible_user=root`,
        `ansible_ssh_private_key_file=${hosts.keyFile}`,
        `tsrun_known_hosts=${hosts.knownHostsFile}`,
        '',
      ].join('\n'),
    );
    const result = await tsrunJson(whoami, inventory, '-T', '2');
    expect(result.code).toBe(4);
    expect(result.recap!.ghost).toMatchObject({ unreachable: 1, ok: 0 });
    expect(failureOf(result)).toContain(ghostAddress);
    for (const host of hosts.hosts) expect(result.recap![host.name]).toMatchObject({ ok: 1, unreachable: 0, failed: 0 });
    expect(stdoutOf(result, 'Who am I')).toEqual(hosts.hosts.map(() => 'root'));
  });
});
