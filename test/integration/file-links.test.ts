/**
 * Symlinks and odd names on real sshd hosts, against ansible-playbook itself: a playbook
 * of copy, template, lineinfile and file tasks on links (to files holding the content
 * already, dangling, crafted to look like the read's own output) and on names holding
 * newlines runs with tsrun on a test host and with ansible-playbook on a local scratch
 * directory; both must change the same tasks and leave the same tree, and a second run
 * must change nothing. Then: the temp file a killed write leaves is removed by the next
 * write of the same destination, and nothing else is.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { tempPrefix, writeScript } from '../../src/modules/remote-file.js';
import { quote } from '../../src/transport/quote.js';
import { LocalTransport } from '../../src/transport/local.js';
import { inHost, testHosts } from '../harness/hosts.js';
import { changedSet, tsrun, type TsrunRun } from '../harness/tsrun.js';

const hosts = testHosts();
const host = hosts.hosts[0]!;
const ROOT = '/srv/tsrun-copy-links-test';
const run = promisify(execFile);

/** base64 of "hello\n": a crafted link text carrying it would be read as the file's content. */
const HELLO64 = Buffer.from('hello\n').toString('base64');

const PLAYBOOK = `
- hosts: all
  gather_facts: no
  tasks:
    - name: copy onto a link to a file holding the content
      copy: {content: "hello\\n", dest: "{{ root }}/same"}
    - name: copy onto a crafted dangling link
      copy: {content: "hello\\n", dest: "{{ root }}/spoof"}
    - name: copy onto a dangling link
      copy: {content: "hello\\n", dest: "{{ root }}/dangling"}
    - name: copy with force no onto a link
      copy: {content: "hello\\n", dest: "{{ root }}/keep", force: no}
    - name: copy with follow onto a link
      copy: {content: "hello\\n", dest: "{{ root }}/follow", follow: yes}
    - name: copy with follow onto a dangling link
      copy: {content: "hello\\n", dest: "{{ root }}/dfollow", follow: yes}
    - name: template onto a link to a file holding the content
      template: {src: hello.j2, dest: "{{ root }}/tpl"}
    - name: lineinfile through a link
      lineinfile: {path: "{{ root }}/edit", regexp: "^a=", line: "a=2"}
    - name: blockinfile through a link
      blockinfile: {path: "{{ root }}/block", block: "x=1"}
    - name: link with a newline and a space
      file: {path: "{{ root }}/nl", src: "a\\nb c", state: link, force: yes}
    - name: link that looks like the read's own lines
      file: {path: "{{ root }}/lines", src: "t/hello\\nkind=link\\ncontent\\n${HELLO64}\\n@@end\\n", state: link, force: yes}
    - name: link with quotes, a backslash and a trailing newline
      file: {path: "{{ root }}/quotes", src: "it's \\\\ \\"q\\" =@@state\\n", state: link, force: yes}
    - name: modes below a directory with odd names
      file: {path: "{{ root }}/tree", state: directory, mode: "u=rwX,g=rX,o=", recurse: yes}
`;

/** The same starting tree for both runs (relative link texts, so the trees compare). */
function setupScript(root: string): string {
  const r = quote(root);
  return [
    `rm -rf ${r} && mkdir -p ${r}/t && cd ${r} || exit 1`,
    `printf 'hello\\n' > t/hello && chmod 640 t/hello && ln -s t/hello same`,
    `ln -s ${quote(`missing\ncontent\n${HELLO64}\n@@end`)} spoof`,
    `ln -s missing dangling && ln -s missing dfollow`,
    `printf 'old\\n' > t/keep && ln -s t/keep keep`,
    `printf 'old\\n' > t/follow && ln -s t/follow follow`,
    `printf 'hello\\n' > t/tpl && ln -s t/tpl tpl`,
    `printf 'a=1\\n' > t/lines && ln -s t/lines edit`,
    `printf 'y=2\\n' > t/block && ln -s t/block block`,
    `mkdir -p tree ${quote('tree/sub\nx')} && touch ${quote('tree/a\nb')} ${quote('tree/c|d')} ${quote('tree/sub\nx/@@entries-end')}`,
  ].join('\n');
}

/** Every entry under root: name, type, mode, link text, base64 content; NUL-separated. */
function listScript(root: string): string {
  return `cd ${quote(root)} && find . -mindepth 1 -printf '%P\\0%y\\0%m\\0%l\\0' -exec sh -c 'if [ -f "$1" ] && [ ! -L "$1" ]; then base64 -w 0 "$1"; fi' sh {} \\; -printf '\\0'`;
}

function parseList(stdout: string): string[] {
  const fields = stdout.split('\0');
  const entries: string[] = [];
  for (let i = 0; i + 5 <= fields.length; i += 5) entries.push(JSON.stringify(fields.slice(i, i + 5)));
  return entries.sort();
}

async function local(script: string): Promise<string> {
  const result = await new LocalTransport().exec(script);
  if (result.code !== 0) throw new Error(`local script failed: ${result.stderr}`);
  return result.stdout;
}

async function onHost(script: string): Promise<string> {
  const result = await inHost(host, script);
  if (result.code !== 0) throw new Error(`script on ${host.name} failed: ${result.stderr}`);
  return result.stdout;
}

/** What ansible-playbook changed, as "host | task", from its default output. */
function ansibleChanged(stdout: string): string[] {
  const changed: string[] = [];
  let task = '';
  for (const line of stdout.split('\n')) {
    const header = /^TASK \[(.*)\] \**$/.exec(line);
    if (header) task = header[1]!;
    const status = /^(changed|fatal|failed): \[([^\]]+)\]/.exec(line);
    if (status?.[1] === 'changed') changed.push(`${status[2]} | ${task}`);
    else if (status) throw new Error(`ansible-playbook: ${task} failed: ${line}`);
  }
  return changed.sort();
}

let scratch: string;
let playbook: string;
beforeAll(async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), 'tsrun-copy-links-'));
  playbook = path.join(scratch, 'links.yml');
  await writeFile(playbook, PLAYBOOK);
  await mkdir(path.join(scratch, 'templates'));
  await writeFile(path.join(scratch, 'templates', 'hello.j2'), 'hello\n');
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
  await inHost(host, `rm -rf ${ROOT}`);
});

describe('symlinks and odd names, as ansible-playbook does', () => {
  const tsrunRun = (): Promise<TsrunRun> => tsrun(['run', playbook, '-i', hosts.inventoryFile, '-l', host.name, '--output', 'json', '-e', `root=${ROOT}/play`]);
  const ansibleRun = async (root: string): Promise<string[]> => {
    const { stdout } = await run('ansible-playbook', ['-i', 'localhost,', '-c', 'local', '-e', `root=${root}`, playbook], {
      env: {
        ...process.env,
        ANSIBLE_STDOUT_CALLBACK: 'default',
        ANSIBLE_NOCOLOR: '1',
        ANSIBLE_LOCALHOST_WARNING: 'false',
        // Its temp files and caches stay in the scratch directory.
        ANSIBLE_HOME: path.join(scratch, 'ansible-home'),
        ANSIBLE_LOCAL_TEMP: path.join(scratch, 'ansible-tmp'),
        ANSIBLE_REMOTE_TEMP: path.join(scratch, 'ansible-tmp'),
      },
      maxBuffer: 64 * 1024 * 1024,
    });
    return ansibleChanged(stdout).map((line) => line.replace(/^localhost \| /, `${host.name} | `));
  };

  let first: TsrunRun;
  let second: TsrunRun;
  let theirs: { first: string[]; second: string[]; tree: string[] };
  let ours: string[];
  beforeAll(async () => {
    const theirRoot = path.join(scratch, 'play');
    await local(setupScript(theirRoot));
    theirs = { first: await ansibleRun(theirRoot), second: await ansibleRun(theirRoot), tree: parseList(await local(listScript(theirRoot))) };
    await onHost(setupScript(`${ROOT}/play`));
    first = await tsrunRun();
    second = await tsrunRun();
    ours = parseList(await onHost(listScript(`${ROOT}/play`)));
  }, 180_000);

  test('tsrun changes the tasks ansible-playbook changes: all but force: no', () => {
    const tasks = [...PLAYBOOK.matchAll(/- name: (.*)/g)].map((m) => `${host.name} | ${m[1]}`);
    expect(theirs.first).toEqual(tasks.filter((task) => !task.endsWith('force no onto a link')).sort());
    expect(first.code).toBe(0);
    expect(changedSet(first)).toEqual(theirs.first);
  });

  test('the second run changes nothing, for tsrun as for ansible-playbook', () => {
    expect(theirs.second).toEqual([]);
    expect(second.code).toBe(0);
    expect(changedSet(second)).toEqual([]);
  });

  test('the host holds the tree ansible-playbook leaves', () => {
    expect(ours).toEqual(theirs.tree);
  });

  test('no crafted link makes copy skip the write: every link copy targets is a file now', async () => {
    expect(
      await onHost(`cd ${ROOT}/play && for f in same spoof dangling dfollow tpl; do [ -L "$f" ] && echo "$f is a link"; cat "$f"; done; cat t/hello`),
    ).toBe('hello\n'.repeat(6));
    // Replacing a link makes a new file (umask mode), the target keeps its own.
    expect(await onHost(`cd ${ROOT}/play && stat -c %a same t/hello`)).toBe('644\n640\n');
    // follow: yes, lineinfile and blockinfile write the file the link points at; force: no leaves it.
    expect(await onHost(`cd ${ROOT}/play && readlink follow edit block keep && cat t/follow t/lines t/keep`)).toBe(
      't/follow\nt/lines\nt/block\nt/keep\nhello\na=2\nold\n',
    );
  });
});

describe('temp files a killed write left behind', () => {
  const dir = `${ROOT}/stale`;
  const dest = `${dir}/app.conf`;
  /** A destination whose name is a glob: its clean-up must not match other names. */
  const globDest = `${dir}/a*.conf`;

  /** Start the real write script, let it write part of the content, then SIGKILL it. */
  const killedWrite = (target: string): string => {
    const script = writeScript({ path: target, content: Buffer.from('new\n'), mode: 0o644, backup: false });
    return [
      `fifo=${quote(`${dir}/.fifo`)}; rm -f "$fifo"; mkfifo "$fifo" || exit 1`,
      `sh -c ${quote(script)} < "$fifo" & pid=$!`,
      `exec 3> "$fifo"; printf partial >&3`,
      // Until the partial content is in the temp file, then kill the writer mid-write.
      `n=0; until grep -qs partial ${quote(tempPrefix(target))}*; do n=$((n+1)); [ $n -lt 100 ] || exit 1; sleep 0.05; done`,
      `kill -9 $pid; wait $pid; exec 3>&-; rm -f "$fifo"`,
    ].join('\n');
  };

  let dead: string;
  let lookalikes: string[];
  let before: string[];
  let partial: string;
  let after: string[];
  let contents: string;
  let result: TsrunRun;
  const killed = (names: string[]) => names.filter((name) => /^\.(app|a\*)\.conf\.tsrun-tmp-\d+-[A-Za-z0-9]{6}$/.test(name) && !lookalikes.includes(name));
  const list = async () => (await onHost(`cd ${quote(dir)} && ls -A`)).split('\n').filter(Boolean).sort();
  beforeAll(async () => {
    dead = (await onHost("sh -c 'echo $$'")).trim();
    // Names like a temp file's that are not one of this destination's stale ones.
    lookalikes = [
      '.app.conf.tsrun-tmp-1-abcdef', // PID 1 runs: maybe a concurrent write in progress
      `.other.conf.tsrun-tmp-${dead}-abcdef`, // another destination's
      `.app.conf.bak.tsrun-tmp-${dead}-abcdef`,
      `.app.conf.tsrun-tmp-${dead}-abcdef.keep`,
      `.app.conf.tsrun-tmp-${dead}-abc`,
      `app.conf.tsrun-tmp-${dead}-abcdef`,
      `.ab.conf.tsrun-tmp-${dead}-abcdef`, // matches the glob a*.conf, not the name
    ];
    await onHost(
      [
        `rm -rf ${quote(dir)} && mkdir -p ${quote(dir)} && cd ${quote(dir)} || exit 1`,
        `printf 'old\\n' > app.conf`,
        ...lookalikes.map((name) => `printf x > ${quote(name)}`),
      ].join('\n'),
    );
    await onHost(killedWrite(dest));
    await onHost(killedWrite(globDest));
    before = await list();
    partial = await onHost(`cd ${quote(dir)} && cat ${killed(before).map(quote).join(' ')}`);
    const playbook = path.join(scratch, 'stale.yml');
    await writeFile(
      playbook,
      `- hosts: all\n  gather_facts: no\n  tasks:\n    - copy: {content: "new\\n", dest: ${JSON.stringify(dest)}}\n    - copy: {content: "new\\n", dest: ${JSON.stringify(globDest)}}\n`,
    );
    result = await tsrun(['run', playbook, '-i', hosts.inventoryFile, '-l', host.name, '--output', 'json']);
    after = await list();
    contents = await onHost(`cd ${quote(dir)} && cat app.conf ${quote('a*.conf')}`);
  }, 120_000);

  test('the killed writes left their temp files, holding part of the content', () => {
    expect(killed(before)).toHaveLength(2);
    expect(partial).toBe('partialpartial');
  });

  test('the next write removes them and writes the destination; similar names stay', () => {
    expect(result.code).toBe(0);
    expect(changedSet(result)).toHaveLength(2);
    expect(contents).toBe('new\nnew\n');
    expect(after).toEqual([...lookalikes, 'a*.conf', 'app.conf'].sort());
  });
});
