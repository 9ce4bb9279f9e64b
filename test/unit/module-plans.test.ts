/**
 * Each module's planning from tables: (arguments, state read) -> the plan, with no host.
 * Then the engine's rules for a plan (check mode, diff, applying, what earlier tasks may
 * create), run for real on this machine's shell.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineModule, runModule } from '../../src/engine/apply.js';
import { moduleArgs, path as pathArg, str } from '../../src/modules/args.js';
import { blockinfileModule } from '../../src/modules/blockinfile.js';
import { commandModule } from '../../src/modules/command.js';
import { assertModule } from '../../src/modules/assert.js';
import { debugModule } from '../../src/modules/debug.js';
import { failModule } from '../../src/modules/fail.js';
import { setFactModule } from '../../src/modules/set_fact.js';
import { copyModule, type PutState } from '../../src/modules/copy.js';
import { fileModule, type FileState } from '../../src/modules/file.js';
import { k8sModule, type K8sObject, type K8sState } from '../../src/modules/k8s.js';
import { lineinfileModule, type EditState } from '../../src/modules/lineinfile.js';
import { RemoteError, sha1, type PathState } from '../../src/modules/remote-file.js';
import { serviceModule } from '../../src/modules/service.js';
import { slurpModule } from '../../src/modules/slurp.js';
import { statModule } from '../../src/modules/stat.js';
import { templateModule } from '../../src/modules/template.js';
import type { ModuleContext, Plan, PlannedModuleSpec } from '../../src/modules/types.js';
import { LocalTransport } from '../../src/transport/local.js';

// ---------------------------------------------------------------- states as a read returns them

const missing = (path: string, parentExists = true): PathState => ({ path, exists: false, parentExists });
const file = (path: string, content: string, extra: Partial<PathState> = {}): PathState => ({
  path,
  exists: true,
  kind: 'file',
  parentExists: true,
  mode: 0o644,
  uid: 0,
  gid: 0,
  owner: 'root',
  group: 'root',
  size: Buffer.byteLength(content),
  content: Buffer.from(content),
  ...extra,
});
const dir = (path: string, extra: Partial<PathState> = {}): PathState => ({
  path,
  exists: true,
  kind: 'directory',
  parentExists: true,
  mode: 0o755,
  uid: 0,
  gid: 0,
  owner: 'root',
  group: 'root',
  ...extra,
});
const link = (path: string, text: string, extra: Partial<PathState> = {}): PathState => ({
  path,
  exists: true,
  kind: 'link',
  targetKind: 'file',
  linkText: text,
  parentExists: true,
  mode: 0o777,
  uid: 0,
  gid: 0,
  owner: 'root',
  group: 'root',
  ...extra,
});

/** A plan as the tables state it: the scripts run and files written, not their closures. */
interface Shown {
  changed: boolean;
  result?: Record<string, unknown>;
  diff?: Plan['diff'];
  changes: string[];
}

function show(plan: Plan): Shown {
  return {
    changed: plan.changed,
    result: plan.result,
    diff: plan.diff,
    changes: (plan.changes ?? []).map((change) =>
      'run' in change
        ? change.run
        : `write ${change.write.path} ${change.write.mode.toString(8)}${change.write.backup ? ' with backup' : ''}: ${change.write.content.toString()}`,
    ),
  };
}

/** Plan with a module's own schema and plan function, as the engine does. */
function planOf<Args, State>(module: PlannedModuleSpec<Args, State>, rawArgs: Record<string, unknown>, state: State): Shown {
  return show(module.plan(module.schema.parse(rawArgs), state));
}

/** What the engine does when the plan fails and earlier tasks may make what is missing. */
function assumedPlan<Args, State>(module: PlannedModuleSpec<Args, State>, rawArgs: Record<string, unknown>, state: State): Shown | undefined {
  const args = module.schema.parse(rawArgs);
  const assumed = module.assume?.(state, args);
  return assumed === undefined ? undefined : show(module.plan(args, assumed));
}

// ---------------------------------------------------------------- file

const fileState = (target: PathState, extra: Partial<FileState> = {}): FileState => ({ target, umask: 0o022, entries: [], ...extra });

describe('file plans', () => {
  // biome-ignore format: a table reads as one row per case
  test.each<[string, Record<string, unknown>, FileState, Partial<Shown>]>([
    ['a missing directory is made with its parents', { path: '/d', state: 'directory' }, fileState(missing('/d', false)), {
      changed: true,
      result: { path: '/d', state: 'directory' },
      diff: [{ path: '/d', before: 'state: absent\n', after: 'state: directory\n' }],
      changes: ["p=/d\nmkdir -p -- \"$p\" || exit 1"],
    }],
    ['a directory as asked is unchanged', { path: '/d', state: 'directory', mode: '0755' }, fileState(dir('/d')), {
      changed: false,
      result: { path: '/d', state: 'directory', mode: '0755' },
      changes: [],
    }],
    ['a directory of another mode gets chmod', { path: '/d', state: 'directory', mode: 'u=rwx,go=' }, fileState(dir('/d')), {
      changed: true,
      diff: [{ path: '/d', before: 'mode: 0755\n', after: 'mode: 0700\n' }],
      changes: ['p=/d\nchmod -- 0700 "$p" || exit 1'],
    }],
    ['owner and group by name or id', { path: '/f', state: 'file', owner: 'nobody', group: 0 }, fileState(file('/f', 'x')), {
      changed: true,
      diff: [{ path: '/f', before: 'owner: root\n', after: 'owner: nobody\n' }],
      changes: ['p=/f\nchown -- nobody "$p" || exit 1'],
    }],
    ['absent removes what is there', { path: '/f', state: 'absent' }, fileState(file('/f', 'x')), {
      changed: true,
      diff: [{ path: '/f', before: 'state: file\n', after: 'state: absent\n' }],
      changes: ['p=/f\nrm -rf -- "$p" || exit 1'],
    }],
    ['absent of nothing is unchanged', { path: '/f', state: 'absent' }, fileState(missing('/f')), { changed: false, changes: [] }],
    ['touch always changes', { path: '/f', state: 'touch' }, fileState(file('/f', '')), { changed: true, changes: ['p=/f\ntouch -- "$p" || exit 1'] }],
    ['a link already pointing there is unchanged', { path: '/l', state: 'link', src: '/f' }, fileState(link('/l', '/f'), { source: file('/f', '') }), { changed: false, changes: [] }],
    ['no state: a link is reported as it is', { path: '/l' }, fileState(link('/l', '/f')), { changed: false, result: { path: '/l', state: 'link' }, changes: [] }],
  ])('%s', (_name, args, state, expected) => {
    expect(planOf(fileModule, args, state)).toMatchObject(expected);
  });

  test('a link is made beside its path and renamed over it', () => {
    const plan = planOf(fileModule, { path: '/l', state: 'link', src: '/f' }, fileState(missing('/l'), { source: file('/f', '') }));
    expect(plan.changed).toBe(true);
    expect(plan.diff).toEqual([{ path: '/l', before: 'state: absent\n', after: 'src: /f\n' }]);
    expect(plan.changes[0]).toContain(`ln -s -- /f "$tmp" || exit 1\nmv -f -- "$tmp" "$p"`);
  });

  // biome-ignore format: a table reads as one row per case
  test.each<[string, Record<string, unknown>, FileState, RegExp]>([
    ['a file over a directory', { path: '/d', state: 'file' }, fileState(dir('/d')), /path \/d is a directory, expected a file/],
    ['state file of a missing path', { path: '/f', state: 'file' }, fileState(missing('/f')), /file \(\/f\) is absent, cannot continue/],
    ['a directory over a file', { path: '/f', state: 'directory' }, fileState(file('/f', '')), /exists but is not a directory/],
    ['a link over a file without force', { path: '/f', state: 'link', src: '/x' }, fileState(file('/f', ''), { source: file('/x', '') }), /refusing to convert from file to symlink/],
    ['a link to a missing source without force', { path: '/l', state: 'link', src: '/x' }, fileState(missing('/l'), { source: missing('/x') }), /src file does not exist/],
    ['a hard link to a missing source', { path: '/h', state: 'hard', src: '/x' }, fileState(missing('/h'), { source: missing('/x') }), /src file does not exist: \/x/],
    ['touch in a missing directory', { path: '/no/f', state: 'touch' }, fileState(missing('/no/f', false)), /directory \/no does not exist, cannot touch/],
  ])('%s fails', (_name, args, state, message) => {
    expect(() => planOf(fileModule, args, state)).toThrow(RemoteError);
    expect(() => planOf(fileModule, args, state)).toThrow(message);
  });

  test('what an earlier task may create: a missing link source or directory is assumed, nothing else', () => {
    expect(assumedPlan(fileModule, { path: '/l', state: 'link', src: '/x' }, fileState(missing('/l'), { source: missing('/x') }))).toMatchObject({
      changed: true,
    });
    expect(assumedPlan(fileModule, { path: '/no/f', state: 'touch' }, fileState(missing('/no/f', false)))).toMatchObject({ changed: true });
    expect(assumedPlan(fileModule, { path: '/d', state: 'file' }, fileState(dir('/d')))).toBeUndefined();
  });
});

// ---------------------------------------------------------------- copy and template

const put = (content: string, states: PathState[], sourceName?: string): PutState => ({
  content: Buffer.from(content),
  sourceName,
  read: { states, umask: 0o022, extra: '' },
});

describe('copy and template plans', () => {
  // biome-ignore format: a table reads as one row per case
  test.each<[string, Record<string, unknown>, PutState, Partial<Shown>]>([
    ['a new file is written with the umask mode', { dest: '/f', content: 'new\n' }, put('new\n', [missing('/f')]), {
      changed: true,
      result: { dest: '/f', checksum: sha1('new\n'), size: 4, mode: '0644' },
      diff: [{ path: '/f', before: '', after: 'new\n' }],
      changes: ['write /f 644: new\n'],
    }],
    ['the same content and mode is unchanged', { dest: '/f', content: 'same' }, put('same', [file('/f', 'same')]), { changed: false, diff: [], changes: [] }],
    ['other content is written, with a backup when asked', { dest: '/f', content: 'b', backup: 'yes' }, put('b', [file('/f', 'a')]), {
      changed: true,
      diff: [{ path: '/f', before: 'a', after: 'b' }],
      changes: ['write /f 644 with backup: b'],
    }],
    ['only the mode differs: a chmod, not a write', { dest: '/f', content: 'a', mode: '0600' }, put('a', [file('/f', 'a')]), {
      changed: true,
      result: { mode: '0600' },
      diff: [{ path: '/f', before: 'mode: 0644\n', after: 'mode: 0600\n' }],
      changes: ['p=/f\nchmod -- 0600 "$p" || exit 1'],
    }],
    ['force: no keeps an existing file', { dest: '/f', content: 'b', force: 'no' }, put('b', [file('/f', 'a')]), { changed: false, result: { checksum: sha1('a') }, changes: [] }],
    ['into a directory: the file is named after the source', { dest: '/d', src: 'app.conf' }, put('x', [dir('/d'), missing('/d/app.conf')], 'app.conf'), {
      changed: true,
      result: { dest: '/d/app.conf' },
      changes: ['write /d/app.conf 644: x'],
    }],
    ['a link at dest is replaced by a file', { dest: '/l', content: 'x' }, put('x', [link('/l', '/f', { content: Buffer.from('x'), linkResolved: '/f' })]), {
      changed: true,
      result: { dest: '/l' },
      changes: ['write /l 644: x'],
    }],
    // Read with follow: the attributes are those of the file the link points at.
    ['with follow: yes the file a link points at is written', { dest: '/l', content: 'y', follow: 'yes' }, put('y', [link('/l', '/f', { content: Buffer.from('x'), linkResolved: '/f', mode: 0o644 })]), {
      changed: true,
      result: { dest: '/f' },
      changes: ['write /f 644: y'],
    }],
  ])('%s', (_name, args, state, expected) => {
    expect(planOf(copyModule, args, state)).toMatchObject(expected);
  });

  test('template plans as copy does', () => {
    expect(planOf(templateModule, { src: 'a.j2', dest: '/f' }, put('rendered', [missing('/f')], 'a'))).toMatchObject({
      changed: true,
      changes: ['write /f 644: rendered'],
    });
  });

  test('a missing dest directory fails, unless an earlier task makes it', () => {
    const state = put('x', [missing('/no/f', false)]);
    expect(() => planOf(copyModule, { dest: '/no/f', content: 'x' }, state)).toThrow('dest directory /no does not exist');
    expect(assumedPlan(copyModule, { dest: '/no/f', content: 'x' }, state)).toMatchObject({ changed: true, changes: ['write /no/f 644: x'] });
    expect(assumedPlan(copyModule, { dest: '/f', content: 'x' }, put('x', [file('/f', 'y')]))).toBeUndefined();
  });
});

// ---------------------------------------------------------------- lineinfile and blockinfile

const edit = (state: PathState): EditState => ({ file: state, umask: 0o022 });

describe('lineinfile and blockinfile plans', () => {
  // biome-ignore format: a table reads as one row per case
  test.each<[string, Record<string, unknown>, EditState, Partial<Shown>]>([
    ['the line is there: unchanged', { path: '/f', line: 'b' }, edit(file('/f', 'a\nb\n')), { changed: false, result: { msg: '', path: '/f' }, changes: [] }],
    ['a regexp match is replaced', { path: '/f', regexp: '^b', line: 'b=2' }, edit(file('/f', 'a\nb=1\n')), {
      changed: true,
      result: { msg: 'line replaced' },
      diff: [{ path: '/f', before: 'a\nb=1\n', after: 'a\nb=2\n' }],
      changes: ['write /f 644: a\nb=2\n'],
    }],
    ['a missing line is added at the end', { path: '/f', line: 'c' }, edit(file('/f', 'a')), { changed: true, result: { msg: 'line added' }, changes: ['write /f 644: a\nc\n'] }],
    ['absent removes every match and counts them', { path: '/f', regexp: '^#', state: 'absent' }, edit(file('/f', '#1\nx\n#2\n')), {
      changed: true,
      result: { msg: '2 line(s) removed', found: 2 },
      changes: ['write /f 644: x\n'],
    }],
    ['absent from a missing file is unchanged', { path: '/f', line: 'x', state: 'absent' }, edit(missing('/f')), { changed: false, result: { msg: 'file not present' } }],
    ['create makes the file', { path: '/f', line: 'x', create: 'yes', mode: '0600' }, edit(missing('/f')), { changed: true, changes: ['write /f 600: x\n'] }],
    ['a missing file without create fails', { path: '/f', line: 'x' }, edit(missing('/f')), {
      changed: false,
      result: { failed: true, msg: 'Destination /f does not exist !', path: '/f', rc: 257 },
    }],
  ])('lineinfile: %s', (_name, args, state, expected) => {
    expect(planOf(lineinfileModule, args, state)).toMatchObject(expected);
  });

  // biome-ignore format: a table reads as one row per case
  test.each<[string, Record<string, unknown>, EditState, Partial<Shown>]>([
    ['a block is inserted at the end', { path: '/f', block: 'x' }, edit(file('/f', 'a\n')), {
      changed: true,
      result: { msg: 'Block inserted' },
      changes: ['write /f 644: a\n# BEGIN ANSIBLE MANAGED BLOCK\nx\n# END ANSIBLE MANAGED BLOCK\n'],
    }],
    ['the same block is unchanged', { path: '/f', block: 'x' }, edit(file('/f', '# BEGIN ANSIBLE MANAGED BLOCK\nx\n# END ANSIBLE MANAGED BLOCK\n')), { changed: false, changes: [] }],
    ['absent removes the block', { path: '/f', state: 'absent' }, edit(file('/f', 'a\n# BEGIN ANSIBLE MANAGED BLOCK\nx\n# END ANSIBLE MANAGED BLOCK\n')), {
      changed: true,
      result: { msg: 'Block removed' },
      changes: ['write /f 644: a\n'],
    }],
    ['a missing file without create fails', { path: '/f', block: 'x' }, edit(missing('/f')), { result: { failed: true, msg: 'Path /f does not exist !', path: '/f', rc: 257 } }],
  ])('blockinfile: %s', (_name, args, state, expected) => {
    expect(planOf(blockinfileModule, args, state)).toMatchObject(expected);
  });

  test('a file to edit that an earlier task may create is edited as empty', () => {
    expect(assumedPlan(lineinfileModule, { path: '/f', line: 'x' }, edit(missing('/f', false)))).toMatchObject({
      changed: true,
      result: { msg: 'line added' },
      changes: ['write /f 644: x\n'],
    });
    expect(assumedPlan(blockinfileModule, { path: '/f', block: 'x' }, edit(missing('/f')))).toMatchObject({ changed: true, result: { msg: 'File created' } });
    expect(assumedPlan(lineinfileModule, { path: '/f', line: 'x' }, edit(file('/f', '')))).toBeUndefined();
  });
});

// ---------------------------------------------------------------- stat and slurp

describe('stat and slurp plans', () => {
  // biome-ignore format: a table reads as one row per case
  test.each<[string, Record<string, unknown>, PathState, Record<string, unknown>]>([
    ['a missing path', { path: '/x' }, missing('/x'), { stat: { exists: false } }],
    ['a file, with its checksum', { path: '/f' }, file('/f', 'x', { sha1: 'abc', mtime: 5, inode: 7, device: 8 }), {
      stat: { exists: true, path: '/f', isdir: false, isreg: true, islnk: false, mode: '0644', uid: 0, gid: 0, pw_name: 'root', gr_name: 'root', size: 1, mtime: 5, inode: 7, dev: 8, checksum: 'abc' },
    }],
    ['a link, not followed', { path: '/l' }, link('/l', 'f', { linkResolved: '/f' }), { stat: { islnk: true, lnk_target: 'f', lnk_source: '/f' } }],
    ['a link, followed', { path: '/l', follow: 'yes' }, link('/l', 'f', { linkResolved: '/f' }), { stat: { islnk: false, isreg: true } }],
  ])('stat: %s', (_name, args, state, result) => {
    const plan = planOf(statModule, args, state);
    expect(plan).toMatchObject({ changed: false, changes: [], result });
  });

  // biome-ignore format: a table reads as one row per case
  test.each<[string, { code: number; stdout: string; stderr: string }, Record<string, unknown>]>([
    ['content, base64 in one line', { code: 0, stdout: 'aGVs\nbG8=\n', stderr: '' }, { content: 'aGVsbG8=', encoding: 'base64', source: '/f' }],
    ['a missing file', { code: 22, stdout: '', stderr: '' }, { failed: true, msg: 'file not found: /f' }],
    ['a directory', { code: 21, stdout: '', stderr: '' }, { failed: true, msg: 'source /f is a directory and must be a file' }],
    ['unreadable', { code: 1, stdout: '', stderr: 'sh: Permission denied\n' }, { failed: true, msg: 'reading /f failed: sh: Permission denied' }],
  ])('slurp: %s', (_name, read, result) => {
    expect(planOf(slurpModule, { src: '/f' }, read)).toEqual({ changed: false, result, changes: [] });
  });
});

// ---------------------------------------------------------------- service

const systemd = (active: string, enabled: string) => ({ manager: 'systemd', active, enabled, load: 'loaded' });

describe('service plans', () => {
  // biome-ignore format: a table reads as one row per case
  test.each<[string, Record<string, unknown>, Record<string, string>, boolean, string[]]>([
    ['running and enabled as asked', { name: 'ssh', state: 'started', enabled: 'yes' }, systemd('active', 'enabled'), false, []],
    ['started when inactive', { name: 'ssh', state: 'started' }, systemd('inactive', 'enabled'), true, ['set -e\nsystemctl start ssh']],
    ['stopped when active', { name: 'ssh', state: 'stopped' }, systemd('active', 'enabled'), true, ['set -e\nsystemctl stop ssh']],
    ['restarted every time', { name: 'ssh', state: 'restarted' }, systemd('active', 'enabled'), true, ['set -e\nsystemctl restart ssh']],
    ['reloaded when inactive starts it', { name: 'ssh', state: 'reloaded' }, systemd('inactive', 'enabled'), true, ['set -e\nsystemctl start ssh']],
    ['enabled when disabled', { name: 'ssh', enabled: 'yes' }, systemd('active', 'disabled'), true, ['set -e\nsystemctl enable ssh']],
    ['a static unit counts as enabled', { name: 'ssh', enabled: true }, systemd('active', 'static'), false, []],
    ['daemon_reload alone runs but changes nothing', { name: 'ssh', daemon_reload: 'yes' }, systemd('active', 'enabled'), false, ['set -e\nsystemctl daemon-reload']],
    ['SysV init scripts', { name: 'cron', state: 'started', enabled: 'yes' }, { manager: 'sysv', active: 'inactive', enabled: 'disabled', load: 'loaded' }, true, [
      'set -e\nupdate-rc.d cron defaults\n/etc/init.d/cron start',
    ]],
  ])('%s', (_name, args, state, changed, changes) => {
    expect(planOf(serviceModule, args, state)).toMatchObject({ changed, changes });
  });

  test('the diff and the reported state', () => {
    expect(planOf(serviceModule, { name: 'ssh', state: 'started', enabled: 'no' }, systemd('inactive', 'enabled'))).toMatchObject({
      result: { name: 'ssh', state: 'started', enabled: false },
      diff: [{ path: 'service ssh', before: '', after: 'enabled: true -> false\nstate: stopped -> started\n' }],
    });
  });

  test('a service not installed fails, unless an earlier task installs it and it is to run', () => {
    const none = { manager: 'none' };
    expect(planOf(serviceModule, { name: 'web', state: 'started' }, none)).toMatchObject({
      result: { failed: true, msg: 'Could not find the requested service web' },
    });
    expect(assumedPlan(serviceModule, { name: 'web', state: 'started' }, none)).toMatchObject({
      changed: true,
      result: { msg: 'service web is not installed yet; a real run would start it' },
      changes: [],
    });
    expect(assumedPlan(serviceModule, { name: 'web', enabled: 'yes' }, { ...systemd('', ''), load: 'not-found' })).toMatchObject({ changed: true });
    expect(assumedPlan(serviceModule, { name: 'web', state: 'stopped' }, none)).toMatchObject({ result: { failed: true } });
    expect(assumedPlan(serviceModule, { name: 'ssh', state: 'started' }, systemd('active', 'enabled'))).toBeUndefined();
  });
});

// ---------------------------------------------------------------- k8s

const namespace = (name: string, labels?: Record<string, string>): K8sObject => ({
  apiVersion: 'v1',
  kind: 'Namespace',
  metadata: { name, ...(labels ? { labels } : {}) },
});
const k8s = (objects: K8sObject[], current: K8sObject[], dryRun: string | K8sObject[]): K8sState => ({
  objects,
  manifest: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }),
  current: current.length ? JSON.stringify({ kind: 'List', items: current }) : '',
  dryRun: typeof dryRun === 'string' ? dryRun : JSON.stringify({ kind: 'List', items: dryRun }),
});
/** As the API server returns an object: with bookkeeping the comparison ignores. */
const served = (object: K8sObject): K8sObject => ({
  ...object,
  metadata: { ...object.metadata, uid: 'u1', resourceVersion: '9', managedFields: [] },
  status: { phase: 'Active' },
});

describe('k8s plans', () => {
  const wanted = namespace('apps', { team: 'a' });

  // biome-ignore format: a table reads as one row per case
  test.each<[string, Record<string, unknown>, K8sState, boolean, RegExp[]]>([
    ['a new object is applied', { definition: wanted }, k8s([wanted], [], [served(wanted)]), true, [/k apply -f "\$f" {2}--server-side --force-conflicts --field-manager=tsrun >\/dev\/null \|\| exit 1/]],
    ['an object as the server has it is unchanged', { definition: wanted }, k8s([wanted], [served(wanted)], [served(wanted)]), false, []],
    ['an object that differs is applied', { definition: wanted }, k8s([wanted], [served(namespace('apps'))], [served(wanted)]), true, [/k apply/]],
    ['unchanged, but wait: only the wait runs', { definition: wanted, wait: 'yes' }, k8s([wanted], [served(wanted)], [served(wanted)]), false, [/^(?![\s\S]*k apply)/]],
    ['absent deletes what exists', { definition: wanted, state: 'absent' }, k8s([wanted], [served(wanted)], ''), true, [/k delete -f "\$f"/]],
    ['absent of nothing is unchanged', { definition: wanted, state: 'absent' }, k8s([wanted], [], ''), false, []],
  ])('%s', (_name, args, state, changed, runs) => {
    const plan = planOf(k8sModule, args, state);
    expect(plan.changed).toBe(changed);
    expect(plan.changes).toHaveLength(runs.length);
    for (const [index, run] of runs.entries()) expect(plan.changes[index]).toMatch(run);
  });

  test('the diff shows what the user declares, without server bookkeeping', () => {
    const plan = planOf(k8sModule, { definition: wanted }, k8s([wanted], [served(namespace('apps'))], [served(wanted)]));
    expect(plan.diff).toEqual([
      {
        path: 'Namespace/apps',
        before: 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: apps\n',
        after: 'apiVersion: v1\nkind: Namespace\nmetadata:\n  labels:\n    team: a\n  name: apps\n',
      },
    ]);
  });

  test('a dry run that fails fails the task; a namespace not found yet is taken as made by an earlier task', () => {
    const pod: K8sObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'apps' } };
    const noNamespace = k8s([pod], [], 'Error from server (NotFound): namespaces "apps" not found\n__dry_run_failed__ 1\n');
    expect(planOf(k8sModule, { definition: pod }, noNamespace)).toMatchObject({
      result: { failed: true, msg: 'kubectl apply (dry run) failed: Error from server (NotFound): namespaces "apps" not found' },
    });
    expect(assumedPlan(k8sModule, { definition: pod }, noNamespace)).toMatchObject({ changed: true, diff: [{ path: 'ConfigMap/c', before: '' }] });
    const invalid = k8s([pod], [], 'The ConfigMap "c" is invalid\n__dry_run_failed__ 1\n');
    expect(assumedPlan(k8sModule, { definition: pod }, invalid)).toBeUndefined();
  });
});

// ---------------------------------------------------------------- controller-only modules

describe('debug, assert, fail and set_fact plans', () => {
  // biome-ignore format: a table reads as one row per case
  // biome-ignore lint/suspicious/noExplicitAny: one table holds modules of different argument types
  test.each<[string, PlannedModuleSpec<any, any>, Record<string, unknown>, unknown, Record<string, unknown>]>([
    ['debug msg', debugModule, { msg: 'hi' }, undefined, { msg: 'hi' }],
    ['debug default', debugModule, {}, undefined, { msg: 'Hello world!' }],
    ['debug var', debugModule, { var: 'x' }, 42, { x: 42 }],
    ['assert holds', assertModule, { that: ['a', 'b'] }, undefined, { msg: 'All assertions passed' }],
    ['assert fails on the first condition that does not hold', assertModule, { that: ['a', 'b'], msg: 'no' }, 'b', { failed: true, assertion: 'b', evaluated_to: false, msg: 'no' }],
    ['fail', failModule, {}, undefined, { failed: true, msg: 'Failed as requested from task' }],
    ['set_fact', setFactModule, { a: 1, cacheable: true }, undefined, { ansible_facts: { a: 1 } }],
  ])('%s', (_name, module, args, state, result) => {
    expect(planOf(module, args, state)).toEqual({ changed: false, result, changes: [] });
  });
});

// ---------------------------------------------------------------- the engine's rules

describe('the engine runs a plan', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tsrun-plans-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** A module of this test's own: a marker file holding a text, in a directory that must exist. */
  const marker = defineModule({
    name: 'marker',
    schema: moduleArgs({ path: pathArg(), text: str() }),
    async read(args, ctx) {
      const result = await ctx.exec(`if [ -d "$(dirname -- '${args.path}')" ]; then echo dir; fi; cat -- '${args.path}' 2>/dev/null`);
      return { parent: result.stdout.startsWith('dir\n'), content: result.stdout.replace(/^dir\n/, '') };
    },
    plan(args, state: { parent: boolean; content: string }): Plan {
      if (!state.parent) return { changed: false, result: { failed: true, msg: 'no directory' } };
      if (state.content === args.text) return { changed: false };
      return {
        changed: true,
        result: { path: args.path },
        diff: [{ path: args.path, before: state.content, after: args.text }],
        changes: [{ write: { path: args.path, content: Buffer.from(args.text), mode: 0o600, backup: false } }, { run: `chmod 0640 '${args.path}'` }],
      };
    },
    assume: (state) => (state.parent ? undefined : { parent: true, content: '' }),
  });

  async function run(module: Parameters<typeof runModule>[0], args: Record<string, unknown>, options: { check?: boolean; diff?: boolean } = {}) {
    const transport = new LocalTransport();
    const ctx: ModuleContext = {
      host: 'localhost',
      exec: (script, execOptions) => transport.exec(script, execOptions),
      check: options.check ?? false,
      diff: options.diff ?? false,
      vars: {},
      render: (text) => text,
      findLocalFile: (_kind, name) => name,
    };
    const outcome = await runModule(module, module.schema.parse(args), ctx);
    return { ...outcome, execs: transport.roundTrips };
  }

  test('check mode reads and plans, and changes nothing; the diff is shown only when asked', async () => {
    const path = join(dir, 'm');
    const checked = await run(marker, { path, text: 'a' }, { check: true });
    expect(checked).toEqual({ result: { changed: true, path }, ran: true, execs: 1 });
    expect(existsSync(path)).toBe(false);
    const withDiff = await run(marker, { path, text: 'a' }, { check: true, diff: true });
    expect(withDiff.result.diff).toEqual([{ path, before: '', after: 'a' }]);
  });

  test('a real run applies the changes in order: an atomic write, then a script', async () => {
    const path = join(dir, 'm');
    expect(await run(marker, { path, text: 'a' })).toEqual({ result: { changed: true, path }, ran: true, execs: 3 });
    expect(readFileSync(path, 'utf8')).toBe('a');
    expect(execMode(path)).toBe('640');
    expect(await run(marker, { path, text: 'a' })).toEqual({ result: { changed: false }, ran: true, execs: 1 });
  });

  test('a plan that fails for want of what an earlier task creates: check mode assumes it, a real run fails', async () => {
    const path = join(dir, 'missing', 'm');
    expect((await run(marker, { path, text: 'a' }, { check: true })).result).toEqual({ changed: true, path });
    expect((await run(marker, { path, text: 'a' })).result).toEqual({ changed: false, failed: true, msg: 'no directory' });
  });

  test('a failed change stops the run and fails the task with its message', async () => {
    const failing = defineModule({
      name: 'failing',
      schema: moduleArgs({}),
      plan: () => ({
        changed: true,
        changes: [{ run: 'echo nope >&2; exit 3', error: (r) => `it said ${r.stderr.trim()} (${r.code})` }, { run: `touch '${join(dir, 'after')}'` }],
      }),
    });
    expect((await run(failing, {})).result).toEqual({ changed: true, failed: true, msg: 'it said nope (3)' });
    expect(existsSync(join(dir, 'after'))).toBe(false);
  });

  test('a module that cannot be planned: runs for real; in check mode it is a change it did not make, unless it tells better', async () => {
    const path = join(dir, 'made');
    const checked = await run(commandModule, { _raw: `touch ${path}` }, { check: true });
    expect(checked).toEqual({ result: { changed: true, msg: 'command would run (not run in check mode)' }, ran: false, execs: 0 });
    expect(existsSync(path)).toBe(false);
    // creates: one read tells that the command would not run, and that is the result.
    expect(await run(commandModule, { _raw: 'false', creates: dir }, { check: true })).toEqual({
      result: { changed: false, rc: 0, msg: `skipped, since ${dir} exists` },
      ran: true,
      execs: 1,
    });
    expect((await run(commandModule, { _raw: `touch ${path}` })).result).toMatchObject({ changed: true, rc: 0 });
    expect(existsSync(path)).toBe(true);
  });

  test('errors a plan throws on the host state fail the task; others are not swallowed', async () => {
    const throwing = (error: Error) =>
      defineModule({
        name: 'throwing',
        schema: moduleArgs({}),
        plan: () => {
          throw error;
        },
      });
    expect((await run(throwing(new RemoteError('bad state')), {})).result).toEqual({ changed: false, failed: true, msg: 'bad state' });
    await expect(run(throwing(new TypeError('bug')), {})).rejects.toThrow('bug');
  });
});

function execMode(path: string): string {
  return (statSync(path).mode & 0o777).toString(8);
}
