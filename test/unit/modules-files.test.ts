/**
 * The file modules, run for real through LocalTransport (/bin/sh on this machine) in a
 * fresh temp directory per test.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { blockinfileModule, editBlock, blockinfileArgs } from '../../src/modules/blockinfile.js';
import { copyModule } from '../../src/modules/copy.js';
import { unifiedDiff } from '../../src/modules/diff.js';
import { fileModule } from '../../src/modules/file.js';
import { editLines, lineinfileArgs, lineinfileModule } from '../../src/modules/lineinfile.js';
import { resolveMode, tempPrefix } from '../../src/modules/remote-file.js';
import { slurpModule } from '../../src/modules/slurp.js';
import { statModule } from '../../src/modules/stat.js';
import { templateModule } from '../../src/modules/template.js';
import type { Module, ModuleContext, ModuleResult } from '../../src/modules/types.js';
import { renderTemplate } from '../../src/template/index.js';
import { LocalTransport } from '../../src/transport/local.js';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'modules');
// Who runs the tests owns what they create; owners and groups of others are test/integration/modules-ownership.test.ts.
const me = {
  uid: process.getuid!(),
  gid: process.getgid!(),
  user: execFileSync('id', ['-un']).toString().trim(),
  group: execFileSync('id', ['-gn']).toString().trim(),
};

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tsrun-files-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

interface RunOptions {
  check?: boolean;
  diff?: boolean;
  vars?: Record<string, unknown>;
}

/** Run a module as the engine would: arguments through its schema, a context on a real shell. */
async function run(module: Module, rawArgs: Record<string, unknown>, options: RunOptions = {}): Promise<{ result: ModuleResult; execs: number }> {
  const transport = new LocalTransport();
  let execs = 0;
  const ctx: ModuleContext = {
    host: 'localhost',
    exec: (script, execOptions) => {
      execs++;
      return transport.exec(script, execOptions);
    },
    check: options.check ?? false,
    diff: options.diff ?? true,
    vars: options.vars ?? {},
    render: (text, origin) => renderTemplate(text, options.vars ?? {}, origin),
    findLocalFile: (kind, name) => join(fixtures, kind, name),
  };
  const result = await module.run(module.schema.parse(rawArgs), ctx);
  return { result, execs };
}

const sha1 = (text: string | Buffer) => createHash('sha1').update(text).digest('hex');
const modeOf = (path: string) => (statSync(path).mode & 0o7777).toString(8).padStart(4, '0');
const tree = (root: string): string[] => {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const entry of readdirSync(d).sort()) {
      const full = join(d, entry);
      const info = lstatSync(full);
      out.push(
        `${full.slice(root.length)} ${(info.mode & 0o7777).toString(8)} ${info.uid} ${info.isSymbolicLink() ? readlinkSync(full) : info.isFile() ? readFileSync(full, 'utf8') : ''}`,
      );
      if (info.isDirectory()) walk(full);
    }
  };
  walk(root);
  return out;
};

/**
 * The contract every changing module keeps: the check run reports what the real run then
 * does, changing nothing; the real run reads once and writes once; a second run is unchanged.
 */
async function converges(module: Module, args: Record<string, unknown>, vars?: Record<string, unknown>): Promise<ModuleResult> {
  const before = tree(dir);
  const checked = await run(module, args, { check: true, vars });
  expect(tree(dir)).toEqual(before);
  expect(checked.execs).toBeLessThanOrEqual(1);

  const first = await run(module, args, { vars });
  expect(first.result.failed).toBeUndefined();
  expect(first.result.changed).toBe(true);
  expect(first.execs).toBeLessThanOrEqual(2);
  // Check mode reports exactly what the real run did (a backup is only made for real).
  const { backup_file: _backupFile, backup: _backup, ...comparable } = first.result;
  expect(checked.result).toEqual(comparable);

  const second = await run(module, args, { vars });
  expect(second.result.changed).toBe(false);
  expect(second.result.failed).toBeUndefined();
  expect(second.execs).toBe(1);
  return first.result;
}

describe('copy', () => {
  test('writes content with the umask mode, sha1 checksum, and is unchanged the second time', async () => {
    const dest = join(dir, 'app.conf');
    const result = await converges(copyModule, { content: 'listen 5000\n', dest });
    expect(readFileSync(dest, 'utf8')).toBe('listen 5000\n');
    expect(result).toMatchObject({ dest, checksum: sha1('listen 5000\n'), mode: '0644' });
    expect(modeOf(dest)).toBe('0644');
    expect(result.diff).toEqual([{ path: dest, before: '', after: 'listen 5000\n' }]);
    // Nothing but the destination is left in the directory (no temp files).
    expect(readdirSync(dir)).toEqual(['app.conf']);
  });

  test('shows the old and new content in the diff and replaces the file', async () => {
    const dest = join(dir, 'app.conf');
    writeFileSync(dest, 'listen 5000\n');
    chmodSync(dest, 0o640);
    const result = await converges(copyModule, { content: 'listen 5001\n', dest });
    expect(result.diff).toEqual([{ path: dest, before: 'listen 5000\n', after: 'listen 5001\n' }]);
    // An existing file keeps its mode when none is asked for.
    expect(modeOf(dest)).toBe('0640');
  });

  test('backup: keeps the old file as dest.<pid>.<timestamp>~', async () => {
    const dest = join(dir, 'hosts.toml');
    writeFileSync(dest, 'old\n');
    const result = await run(copyModule, { content: 'new\n', dest, backup: true });
    expect(result.result.changed).toBe(true);
    const backup = result.result.backup_file as string;
    expect(backup).toMatch(/hosts\.toml\.\d+\.\d{4}-\d\d-\d\d@\d\d:\d\d:\d\d~$/);
    expect(readFileSync(backup, 'utf8')).toBe('old\n');
    expect(readFileSync(dest, 'utf8')).toBe('new\n');
    // No change, no backup.
    const again = await run(copyModule, { content: 'new\n', dest, backup: true });
    expect(again.result.backup_file).toBeUndefined();
    expect(readdirSync(dir)).toHaveLength(2);
  });

  test('a failed write leaves the old file intact and no temp file behind', async () => {
    const dest = join(dir, 'app.conf');
    writeFileSync(dest, 'keep me\n');
    const { result } = await run(copyModule, { content: 'new\n', dest, owner: 'no-such-user-here' });
    expect(result.failed).toBe(true);
    expect(result.msg).toContain(`writing ${dest} failed`);
    expect(readFileSync(dest, 'utf8')).toBe('keep me\n');
    expect(readdirSync(dir)).toEqual(['app.conf']);
  });

  test('fails with a clear message when the dest directory does not exist', async () => {
    const dest = join(dir, 'missing', 'app.conf');
    const { result, execs } = await run(copyModule, { content: 'x\n', dest });
    expect(result).toMatchObject({ failed: true, msg: `dest directory ${join(dir, 'missing')} does not exist` });
    expect(execs).toBe(1);
  });

  test('a path under /proc cannot be written: the write fails and reports it', async () => {
    const { result } = await run(copyModule, { content: 'x\n', dest: '/proc/version' });
    expect(result.failed).toBe(true);
    expect(result.msg).toMatch(/\/proc\/version/);
  });

  test('src from files/, into an existing directory and into dest/ (created)', async () => {
    const motd = readFileSync(join(fixtures, 'files', 'motd.txt'));
    mkdirSync(join(dir, 'etc'));
    const into = await converges(copyModule, { src: 'motd.txt', dest: join(dir, 'etc') });
    expect(into.dest).toBe(join(dir, 'etc', 'motd.txt'));
    expect(readFileSync(join(dir, 'etc', 'motd.txt'))).toEqual(motd);

    const created = await converges(copyModule, { src: 'motd.txt', dest: `${join(dir, 'new', 'sub')}/` });
    expect(created.dest).toBe(join(dir, 'new', 'sub', 'motd.txt'));
    expect(readFileSync(join(dir, 'new', 'sub', 'motd.txt'))).toEqual(motd);
  });

  test('binary src is copied byte for byte; the diff does not print it', async () => {
    const blob = readFileSync(join(fixtures, 'files', 'blob.bin'));
    const dest = join(dir, 'blob.bin');
    const result = await converges(copyModule, { src: 'blob.bin', dest });
    expect(readFileSync(dest)).toEqual(blob);
    expect(result.checksum).toBe(sha1(blob));
    expect((result.diff as Array<{ after: string }>)[0]!.after).toBe('(binary content)');
  });

  test('a file over the content limit is compared by sha256, not transferred back', async () => {
    const dest = join(dir, 'big');
    const big = 'x'.repeat(5 * 1024 * 1024);
    writeFileSync(dest, big);
    expect((await run(copyModule, { content: big, dest })).result.changed).toBe(false);
    const { result } = await run(copyModule, { content: `${big}y`, dest });
    expect(result.changed).toBe(true);
    expect((result.diff as Array<{ before: string }>)[0]!.before).toBe('(content not shown)');
    expect(readFileSync(dest, 'utf8')).toBe(`${big}y`);
  });

  test('src not found, content into a directory, force: no', async () => {
    expect((await run(copyModule, { src: 'nope.txt', dest: dir })).result).toMatchObject({ failed: true, msg: 'src file not found: nope.txt' });
    expect((await run(copyModule, { content: 'x', dest: dir })).result).toMatchObject({ failed: true, msg: `path ${dir} is a directory, expected a file` });
    const dest = join(dir, 'keep');
    writeFileSync(dest, 'mine\n');
    const { result } = await run(copyModule, { content: 'theirs\n', dest, force: 'no' });
    expect(result.changed).toBe(false);
    expect(readFileSync(dest, 'utf8')).toBe('mine\n');
  });

  test('the schema wants exactly one of content and src', () => {
    expect(copyModule.schema.safeParse({ dest: '/x' }).success).toBe(false);
    expect(copyModule.schema.safeParse({ dest: '/x', content: 'a', src: 'b' }).success).toBe(false);
    expect(copyModule.schema.safeParse({ dest: '/x', content: 'a', backup: 'yes' }).success).toBe(true);
    // Structured content is written as JSON, like Ansible.
    expect(copyModule.schema.parse({ dest: '/x', content: { a: [1] } }).content).toBe('{"a":[1]}');
  });
});

describe('template', () => {
  test('renders the template and writes it like copy', async () => {
    const dest = join(dir, 'mirror.conf');
    const result = await converges(templateModule, { src: 'plain.conf.j2', dest, mode: '0640' });
    const expected = readFileSync(join(fixtures, 'templates', 'plain.conf.j2'), 'utf8');
    expect(readFileSync(dest, 'utf8')).toBe(expected);
    expect(result).toMatchObject({ dest, checksum: sha1(expected), mode: '0640' });
  });

  test('renders variables into the file; new values change it, with a diff', async () => {
    const dest = join(dir, 'hosts.toml');
    const vars = { upstream: 'registry-1.docker.io', mirror_host: '10.0.0.5', mirror_port: 5000, skip_verify: true };
    await converges(templateModule, { src: 'hosts.toml.j2', dest }, vars);
    expect(readFileSync(dest, 'utf8')).toBe(
      'server = "https://registry-1.docker.io"\n\n[host."http://10.0.0.5:5000"]\n  capabilities = ["pull", "resolve"]\n  skip_verify = true\n',
    );
    const result = await converges(templateModule, { src: 'hosts.toml.j2', dest }, { ...vars, mirror_port: 5001, skip_verify: false });
    const [change] = result.diff as Array<{ before: string; after: string }>;
    expect(unifiedDiff(change!.before, change!.after)).toContain('-[host."http://10.0.0.5:5000"]\n+[host."http://10.0.0.5:5001"]\n');
    expect(readFileSync(dest, 'utf8')).not.toContain('skip_verify');
  });

  test('an undefined variable fails before anything is read or written', async () => {
    await expect(run(templateModule, { src: 'hosts.toml.j2', dest: join(dir, 'x') }, { vars: { upstream: 'u' } })).rejects.toThrow(/mirror_host/);
    expect(readdirSync(dir)).toEqual([]);
  });

  test('into a directory, the name drops the .j2', async () => {
    const result = await converges(templateModule, { src: 'plain.conf.j2', dest: `${dir}/` });
    expect(result.dest).toBe(join(dir, 'plain.conf'));
  });
});

describe('file', () => {
  test('directory: created with parents and mode, then unchanged', async () => {
    const path = join(dir, 'a', 'b');
    const result = await converges(fileModule, { path, state: 'directory', mode: '0750' });
    expect(statSync(path).isDirectory()).toBe(true);
    expect(modeOf(path)).toBe('0750');
    expect(result).toMatchObject({ path, state: 'directory', mode: '0750' });
    expect(result.diff).toEqual([{ path, before: 'state: absent\n', after: 'state: directory\n' }]);
  });

  test('directory over a file fails, naming the path', async () => {
    writeFileSync(join(dir, 'f'), '');
    const { result } = await run(fileModule, { path: join(dir, 'f'), state: 'directory' });
    expect(result).toMatchObject({ failed: true, msg: `path ${join(dir, 'f')} exists but is not a directory` });
  });

  test('absent removes a tree; absent again is unchanged', async () => {
    mkdirSync(join(dir, 'gone', 'deep'), { recursive: true });
    const result = await converges(fileModule, { path: join(dir, 'gone'), state: 'absent' });
    expect(existsSync(join(dir, 'gone'))).toBe(false);
    expect(result.diff).toEqual([{ path: join(dir, 'gone'), before: 'state: directory\n', after: 'state: absent\n' }]);
  });

  test('touch creates, and like Ansible reports a change every time', async () => {
    const path = join(dir, 'stamp');
    const first = await run(fileModule, { path, state: 'touch', mode: '0600' });
    expect(first.result.changed).toBe(true);
    expect(modeOf(path)).toBe('0600');
    expect((await run(fileModule, { path, state: 'touch', mode: '0600' })).result.changed).toBe(true);
  });

  test('link: created, unchanged, repointed; a file in the way needs force', async () => {
    writeFileSync(join(dir, 'v1'), '1');
    writeFileSync(join(dir, 'v2'), '2');
    const path = join(dir, 'current');
    await converges(fileModule, { path, src: 'v1', state: 'link' });
    expect(readlinkSync(path)).toBe('v1');
    const result = await converges(fileModule, { path, src: join(dir, 'v2'), state: 'link' });
    expect(readlinkSync(path)).toBe(join(dir, 'v2'));
    expect(result.diff).toEqual([{ path, before: 'src: v1\n', after: `src: ${join(dir, 'v2')}\n` }]);

    const blocked = await run(fileModule, { path: join(dir, 'v1'), src: 'v2', state: 'link' });
    expect(blocked.result).toMatchObject({ failed: true });
    expect(blocked.result.msg).toContain('refusing to convert from file to symlink');
    expect(readFileSync(join(dir, 'v1'), 'utf8')).toBe('1');
    const dangling = await run(fileModule, { path: join(dir, 'l'), src: 'missing', state: 'link' });
    expect(dangling.result.msg).toContain('src file does not exist');
  });

  test('link pointing at a directory is replaced, not written into', async () => {
    mkdirSync(join(dir, 'd1'));
    mkdirSync(join(dir, 'd2'));
    symlinkSync('d1', join(dir, 'cur'));
    await converges(fileModule, { path: join(dir, 'cur'), src: 'd2', state: 'link' });
    expect(readlinkSync(join(dir, 'cur'))).toBe('d2');
    expect(readdirSync(join(dir, 'd1'))).toEqual([]);
  });

  test('hard link: created, then unchanged', async () => {
    writeFileSync(join(dir, 'orig'), 'data');
    await converges(fileModule, { path: join(dir, 'copy'), src: join(dir, 'orig'), state: 'hard' });
    expect(statSync(join(dir, 'copy')).ino).toBe(statSync(join(dir, 'orig')).ino);
    linkSync(join(dir, 'orig'), join(dir, 'other'));
    expect((await run(fileModule, { path: join(dir, 'other'), src: join(dir, 'orig'), state: 'hard' })).result.changed).toBe(false);
  });

  test('path is also accepted as dest or name; src is required for links', () => {
    expect(fileModule.schema.safeParse({ name: '/x', state: 'absent' }).success).toBe(true);
    expect(fileModule.schema.safeParse({ state: 'absent' }).success).toBe(false);
    expect(fileModule.schema.safeParse({ path: '/x', state: 'link' }).success).toBe(false);
  });
});

describe('symlinks and odd names', () => {
  const hello64 = Buffer.from('hello\n').toString('base64');

  test.each([
    ['a newline and a space', 'a\nb c'],
    ["the read's own lines", `t\nkind=link\ncontent\n${hello64}\n@@end\n`],
    ['quotes, a backslash, = and a trailing newline', `it's \\ "q" =@@state\n`],
    ['a leading space and a |', ' x|y'],
  ])('a link text holding %s is created once, then unchanged, and stat reads it back', async (_what, src) => {
    const path = join(dir, 'link');
    await converges(fileModule, { path, src, state: 'link', force: true });
    expect(readlinkSync(path)).toBe(src);
    expect((await run(statModule, { path })).result.stat).toMatchObject({ islnk: true, lnk_target: src });
  });

  test.each([
    ['a link to a file holding the content', 'target'],
    ['a dangling link crafted to read as holding the content', `missing\ncontent\n${hello64}\n@@end`],
  ])('copy onto %s replaces the link by a file, as Ansible does', async (_what, text) => {
    writeFileSync(join(dir, 'target'), 'hello\n');
    chmodSync(join(dir, 'target'), 0o640);
    const dest = join(dir, 'dest');
    symlinkSync(text, dest);
    const result = await converges(copyModule, { content: 'hello\n', dest });
    expect(result).toMatchObject({ dest, checksum: sha1('hello\n'), mode: '0644' });
    expect(lstatSync(dest).isFile()).toBe(true);
    expect(readFileSync(dest, 'utf8')).toBe('hello\n');
    // The link's target is not the file written: it keeps its mode.
    expect(modeOf(join(dir, 'target'))).toBe('0640');
  });

  test('copy with follow: yes and lineinfile write the file a link points at and keep the link', async () => {
    writeFileSync(join(dir, 'target'), 'a=1\n');
    symlinkSync('target', join(dir, 'follow'));
    symlinkSync('target', join(dir, 'edit'));
    const edited = await run(lineinfileModule, { path: join(dir, 'edit'), regexp: '^a=', line: 'a=2', backup: true });
    expect(readFileSync(join(dir, 'target'), 'utf8')).toBe('a=2\n');
    // The backup is named after the path the task gave, as Ansible names it.
    expect(edited.result.backup).toMatch(new RegExp(`^${join(dir, 'edit')}\\.\\d+\\.[-0-9@:]+~$`));
    expect(readFileSync(edited.result.backup as string, 'utf8')).toBe('a=1\n');
    expect((await run(lineinfileModule, { path: join(dir, 'edit'), regexp: '^a=', line: 'a=2' })).result.changed).toBe(false);
    const result = await converges(copyModule, { content: 'b\n', dest: join(dir, 'follow'), follow: true });
    expect(result.dest).toBe(join(dir, 'target'));
    expect(readFileSync(join(dir, 'target'), 'utf8')).toBe('b\n');
    expect([readlinkSync(join(dir, 'follow')), readlinkSync(join(dir, 'edit'))]).toEqual(['target', 'target']);
    // A dangling link is replaced all the same (Ansible's copy cannot follow it either).
    symlinkSync('missing', join(dir, 'dangling'));
    await converges(copyModule, { content: 'c\n', dest: join(dir, 'dangling'), follow: true });
    expect(lstatSync(join(dir, 'dangling')).isFile()).toBe(true);
    expect(existsSync(join(dir, 'missing'))).toBe(false);
  });

  test('a backup of a path holding a newline is reported by its whole name', async () => {
    const dest = join(dir, 'a\nb');
    writeFileSync(dest, 'old\n');
    const { result } = await run(copyModule, { content: 'new\n', dest, backup: true });
    expect(result.backup_file).toMatch(new RegExp(`^${dest}\\.\\d+\\.[-0-9@:]+~$`));
    expect(readFileSync(result.backup_file as string, 'utf8')).toBe('old\n');
  });

  test('recurse sets modes on names holding newlines, | and the end marker', async () => {
    const names = ['a\nb', 'c|d', 'sub\nx', 'sub\nx/@@entries-end', '644|0|0|root|root|regular file|x'];
    mkdirSync(join(dir, 'tree', 'sub\nx'), { recursive: true });
    for (const name of names.filter((n) => n !== 'sub\nx')) writeFileSync(join(dir, 'tree', name), '');
    await converges(fileModule, { path: join(dir, 'tree'), state: 'directory', mode: 'u=rwX,g=rX,o=', recurse: true });
    expect(names.map((name) => `${name} ${modeOf(join(dir, 'tree', name))}`)).toEqual(names.map((name) => `${name} ${name === 'sub\nx' ? '0750' : '0640'}`));
  });
});

describe('temp files of writes', () => {
  test.each([
    ['/srv/app.conf', '/srv/.app.conf.tsrun-tmp-'],
    ['app.conf', '.app.conf.tsrun-tmp-'],
    ["/a b/it's*", "/a b/.it's*.tsrun-tmp-"],
    [`/srv/${'n'.repeat(201)}`, `/srv/.${sha1('n'.repeat(201)).slice(0, 16)}.tsrun-tmp-`],
  ])('the temp files of %j start with %j', (path, prefix) => {
    expect(tempPrefix(path)).toBe(prefix);
  });

  test('a write removes the temp files of its destination whose writer is gone, and only those', async () => {
    const dead = execFileSync('sh', ['-c', 'echo $$']).toString().trim();
    const dest = join(dir, 'app.conf');
    const stale = [`.app.conf.tsrun-tmp-${dead}-abcdef`, `.app.conf.tsrun-tmp-${dead}-Z9z9Z9`];
    const kept = [
      `.app.conf.tsrun-tmp-${process.pid}-abcdef`, // a write in progress
      `.app.conf.tsrun-tmp-${dead}-abcdefg`,
      `.app.conf.tsrun-tmp-x${dead}-abcdef`,
      `.app.conf.tsrun-tmp--abcdef`,
      `.app.conf.tsrun-tmp-${dead}-abc-ef`,
      `.app.conf.x.tsrun-tmp-${dead}-abcdef`,
      `.other.tsrun-tmp-${dead}-abcdef`,
    ];
    for (const name of [...stale, ...kept]) writeFileSync(join(dir, name), 'partial');
    const { result, execs } = await run(copyModule, { content: 'new\n', dest });
    expect(result.changed).toBe(true);
    expect(execs).toBe(2);
    expect(readdirSync(dir).sort()).toEqual([...kept, 'app.conf'].sort());
  });

  test('the file module removes the temp links a killed run of it left', async () => {
    const dead = execFileSync('sh', ['-c', 'echo $$']).toString().trim();
    writeFileSync(join(dir, 'v1'), '1');
    symlinkSync('v1', join(dir, `.cur.tsrun-tmp-${dead}-symlnk`));
    linkSync(join(dir, 'v1'), join(dir, `.hard.tsrun-tmp-${dead}-hardln`));
    await converges(fileModule, { path: join(dir, 'cur'), src: 'v1', state: 'link' });
    await converges(fileModule, { path: join(dir, 'hard'), src: join(dir, 'v1'), state: 'hard' });
    expect(readdirSync(dir).sort()).toEqual(['cur', 'hard', 'v1']);
  });
});

describe('lineinfile', () => {
  test('replaces the line matching regexp, then is unchanged', async () => {
    const path = join(dir, 'sshd_config');
    writeFileSync(path, 'Port 22\n#PermitRootLogin yes\nUsePAM yes\n');
    const result = await converges(lineinfileModule, { path, regexp: '^#?PermitRootLogin', line: 'PermitRootLogin no' });
    expect(result.msg).toBe('line replaced');
    expect(readFileSync(path, 'utf8')).toBe('Port 22\nPermitRootLogin no\nUsePAM yes\n');
    expect(result.diff).toEqual([{ path, before: 'Port 22\n#PermitRootLogin yes\nUsePAM yes\n', after: 'Port 22\nPermitRootLogin no\nUsePAM yes\n' }]);
  });

  test('adds at EOF (fixing a missing final newline), with backup', async () => {
    const path = join(dir, 'hosts');
    writeFileSync(path, '127.0.0.1 localhost');
    const first = await run(lineinfileModule, { path, line: '10.0.0.5 mirror', backup: true });
    expect(first.result).toMatchObject({ changed: true, msg: 'line added' });
    expect(readFileSync(path, 'utf8')).toBe('127.0.0.1 localhost\n10.0.0.5 mirror\n');
    expect(readFileSync(first.result.backup as string, 'utf8')).toBe('127.0.0.1 localhost');
    expect((await run(lineinfileModule, { path, line: '10.0.0.5 mirror' })).result.changed).toBe(false);
  });

  test('create: makes the file with the mode; without create a missing file fails', async () => {
    const path = join(dir, 'new.conf');
    const missing = await run(lineinfileModule, { path, line: 'a' });
    expect(missing.result).toMatchObject({ failed: true, msg: `Destination ${path} does not exist !` });
    const result = await converges(lineinfileModule, { path, line: 'a=1', create: true, mode: '0600' });
    expect(result.msg).toBe('line added');
    expect(readFileSync(path, 'utf8')).toBe('a=1\n');
    expect(modeOf(path)).toBe('0600');
  });

  test('state absent removes every matching line', async () => {
    const path = join(dir, 'f');
    writeFileSync(path, 'keep\ndrop 1\nkeep too\ndrop 2\n');
    const result = await converges(lineinfileModule, { path, regexp: '^drop', state: 'absent' });
    expect(result).toMatchObject({ msg: '2 line(s) removed', found: 2 });
    expect(readFileSync(path, 'utf8')).toBe('keep\nkeep too\n');
  });

  test('mode change only: the message says so', async () => {
    const path = join(dir, 'f');
    writeFileSync(path, 'a\n');
    const { result } = await run(lineinfileModule, { path, line: 'a', mode: '0600' });
    expect(result).toMatchObject({ changed: true, msg: 'ownership, perms or SE linux context changed' });
  });

  const edit = (original: string, args: Record<string, unknown>) => editLines(original, lineinfileArgs.parse({ path: '/f', ...args }));
  test.each([
    ['insertafter a regex (last match)', 'a\n[x]\nb\n[x]\nc\n', { line: 'new', insertafter: '^\\[x\\]' }, 'a\n[x]\nb\n[x]\nnew\nc\n'],
    ['insertafter firstmatch', 'a\n[x]\nb\n[x]\n', { line: 'new', insertafter: '^\\[x\\]', firstmatch: true }, 'a\n[x]\nnew\nb\n[x]\n'],
    ['insertbefore a regex', 'a\nb\n', { line: 'new', insertbefore: '^b' }, 'a\nnew\nb\n'],
    ['insertbefore BOF', 'a\n', { line: '#!/bin/sh', insertbefore: 'BOF' }, '#!/bin/sh\na\n'],
    ['insertafter matching nothing goes to EOF', 'a\n', { line: 'z', insertafter: '^nothing' }, 'a\nz\n'],
    ['regexp replaces the last match', 'x=1\nx=2\n', { regexp: '^x=', line: 'x=3' }, 'x=1\nx=3\n'],
    ['regexp matching nothing but the line is present', 'x=3\n', { regexp: '^y=', line: 'x=3' }, 'x=3\n'],
    [
      'backrefs',
      'ExecStart=/bin/app --port 1\n',
      { regexp: '^(ExecStart=\\S+) --port \\d+$', line: '\\1 --port 2', backrefs: true },
      'ExecStart=/bin/app --port 2\n',
    ],
    ['backrefs with no match changes nothing', 'a\n', { regexp: '^(b)$', line: '\\1c', backrefs: true }, 'a\n'],
    ['named groups, Python style', 'k: v\n', { regexp: '^(?P<key>\\w+): v$', line: '\\g<key>: w', backrefs: true }, 'k: w\n'],
    ['search_string', 'url = http://old\n', { search_string: 'http://old', line: 'url = http://new' }, 'url = http://new\n'],
    ['CRLF line endings are kept', 'a\r\nb\r\n', { regexp: '^a', line: 'A' }, 'A\r\nb\r\n'],
  ])('%s', (_name, original, args, expected) => {
    expect(edit(original, args).content).toBe(expected);
    // And the result is a fixed point.
    expect(edit(expected, args).changed).toBe(false);
  });
});

describe('blockinfile', () => {
  const args = (path: string, block: string, extra: Record<string, unknown> = {}) => ({ path, block, ...extra });

  test('inserts a marked block, replaces it in place, removes it', async () => {
    const path = join(dir, 'config.toml');
    writeFileSync(path, 'version = 2\n[plugins]\n');
    const inserted = await converges(blockinfileModule, args(path, '[mirrors]\nendpoint = "http://10.0.0.5:5000"'));
    expect(inserted.msg).toBe('Block inserted');
    expect(readFileSync(path, 'utf8')).toBe(
      'version = 2\n[plugins]\n# BEGIN ANSIBLE MANAGED BLOCK\n[mirrors]\nendpoint = "http://10.0.0.5:5000"\n# END ANSIBLE MANAGED BLOCK\n',
    );
    writeFileSync(path, `${readFileSync(path, 'utf8')}tail\n`);
    await converges(blockinfileModule, args(path, 'replaced'));
    expect(readFileSync(path, 'utf8')).toBe('version = 2\n[plugins]\n# BEGIN ANSIBLE MANAGED BLOCK\nreplaced\n# END ANSIBLE MANAGED BLOCK\ntail\n');
    const removed = await converges(blockinfileModule, args(path, '', { state: 'absent' }));
    expect(removed.msg).toBe('Block removed');
    expect(readFileSync(path, 'utf8')).toBe('version = 2\n[plugins]\ntail\n');
  });

  test('custom markers, insertbefore, create', async () => {
    const path = join(dir, 'hosts');
    const result = await converges(
      blockinfileModule,
      args(path, '10.0.0.5 mirror', { create: true, marker: '## {mark} mirror', marker_begin: 'start', marker_end: 'stop' }),
    );
    expect(result.msg).toBe('File created');
    expect(readFileSync(path, 'utf8')).toBe('## start mirror\n10.0.0.5 mirror\n## stop mirror\n');
    const missing = await run(blockinfileModule, args(join(dir, 'none'), 'x'));
    expect(missing.result).toMatchObject({ failed: true, msg: `Path ${join(dir, 'none')} does not exist !` });
  });

  test.each([
    ['insertbefore BOF', 'a\n', { insertbefore: 'BOF' }, '# BEGIN ANSIBLE MANAGED BLOCK\nB\n# END ANSIBLE MANAGED BLOCK\na\n'],
    ['insertafter a regex', 'a\nb\n', { insertafter: '^a' }, 'a\n# BEGIN ANSIBLE MANAGED BLOCK\nB\n# END ANSIBLE MANAGED BLOCK\nb\n'],
    ['insertbefore a regex', 'a\nb\n', { insertbefore: '^b' }, 'a\n# BEGIN ANSIBLE MANAGED BLOCK\nB\n# END ANSIBLE MANAGED BLOCK\nb\n'],
    ['no final newline', 'a', {}, 'a\n# BEGIN ANSIBLE MANAGED BLOCK\nB\n# END ANSIBLE MANAGED BLOCK\n'],
  ])('%s', (_name, original, extra, expected) => {
    const parsed = blockinfileArgs.parse({ path: '/f', block: 'B', ...extra });
    expect(editBlock(original, parsed)).toBe(expected);
    expect(editBlock(expected, parsed)).toBe(expected);
  });
});

describe('stat', () => {
  test('a file: Ansible fields and the sha1 checksum', async () => {
    const path = join(dir, 'f');
    writeFileSync(path, 'hello\n');
    chmodSync(path, 0o640);
    const { result, execs } = await run(statModule, { path });
    expect(execs).toBe(1);
    expect(result.changed).toBe(false);
    expect(result.stat).toMatchObject({
      exists: true,
      isreg: true,
      isdir: false,
      islnk: false,
      mode: '0640',
      uid: me.uid,
      gid: me.gid,
      pw_name: me.user,
      gr_name: me.group,
      size: 6,
      checksum: sha1('hello\n'),
    });
    expect((result.stat as { mtime: number }).mtime).toBe(Math.floor(statSync(path).mtimeMs / 1000));
    expect((await run(statModule, { path, get_checksum: false })).result.stat).not.toHaveProperty('checksum');
  });

  test('missing path, directory, symlink with and without follow', async () => {
    expect((await run(statModule, { path: join(dir, 'nope') })).result.stat).toEqual({ exists: false });
    expect((await run(statModule, { path: dir })).result.stat).toMatchObject({ exists: true, isdir: true });
    writeFileSync(join(dir, 'target'), 'x');
    symlinkSync('target', join(dir, 'link'));
    expect((await run(statModule, { path: join(dir, 'link') })).result.stat).toMatchObject({
      islnk: true,
      isreg: false,
      lnk_source: join(dir, 'target'),
      lnk_target: 'target',
    });
    expect((await run(statModule, { path: join(dir, 'link'), follow: true })).result.stat).toMatchObject({
      islnk: false,
      isreg: true,
      size: 1,
      checksum: sha1('x'),
    });
  });
});

describe('slurp', () => {
  test('returns the content base64-encoded', async () => {
    const blob = readFileSync(join(fixtures, 'files', 'blob.bin'));
    writeFileSync(join(dir, 'blob'), blob);
    const { result, execs } = await run(slurpModule, { src: join(dir, 'blob') });
    expect(execs).toBe(1);
    expect(result).toMatchObject({ changed: false, encoding: 'base64', content: blob.toString('base64') });
  });

  test('missing file and directory fail naming the path', async () => {
    expect((await run(slurpModule, { path: join(dir, 'nope') })).result).toMatchObject({ failed: true, msg: `file not found: ${join(dir, 'nope')}` });
    expect((await run(slurpModule, { src: dir })).result).toMatchObject({ failed: true, msg: `source ${dir} is a directory and must be a file` });
  });
});

describe('modes', () => {
  test.each([
    ['0644', '0', false, '644'],
    ['644', '0', false, '644'],
    ['0o750', '0', false, '750'],
    [0o644, '0', false, '644'],
    [0o755, '0', false, '755'],
    ['u=rw,g=r,o=r', '777', false, '644'],
    ['u+x,go-w', '666', false, '744'],
    ['a=rX', '700', true, '555'],
    ['a=rX', '600', false, '444'],
    ['u=rwxs,o+t', '0', true, '5700'],
  ])('%p on mode %s (directory: %s) gives %s', (spec, current, isDir, expected) => {
    expect(resolveMode(spec, parseInt(current, 8), isDir).toString(8)).toBe(expected);
  });

  test('a bad mode fails the task with the expected forms', async () => {
    const { result } = await run(copyModule, { content: 'x', dest: join(dir, 'f'), mode: 'rw-r--r--' });
    expect(result).toMatchObject({ failed: true });
    expect(result.msg).toContain("expected octal like '0644' or symbolic like 'u=rw,g=r,o=r'");
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('unified diff', () => {
  test.each([
    ['one line changed', 'a\nb\nc\n', 'a\nB\nc\n'],
    ['created', '', 'x\ny\n'],
    ['emptied', 'x\n', ''],
    ['two hunks', '1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n13\n14\n15\n', '0\n1\n2\n3\n4\nfive\n6\n7\n8\n9\n10\n11\n12\n13\nfourteen\n15\n'],
    ['final newline added', 'a\nb', 'a\nb\n'],
    ['mixed', 'a\nb\nc\nd\n', 'b\nd\ne\n'],
  ])('%s: the same text as diff -u', (_name, before, after) => {
    writeFileSync(join(dir, 'before'), before);
    writeFileSync(join(dir, 'after'), after);
    let expected = '';
    try {
      execFileSync('diff', ['-u', '--label', 'before', '--label', 'after', join(dir, 'before'), join(dir, 'after')]);
    } catch (error) {
      expected = String((error as { stdout: Buffer }).stdout);
    }
    expect(unifiedDiff(before, after)).toBe(expected);
  });

  test('equal texts give no diff', () => {
    expect(unifiedDiff('same\n', 'same\n')).toBe('');
  });
});
