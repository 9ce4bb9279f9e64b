/**
 * Owner and group of the file modules, run for real through LocalTransport (/bin/sh on
 * this machine) in a fresh temp directory per test. Giving a file to another user or to a
 * group the caller is not in needs root, so these are not unit tests
 * (test/unit/modules-files.test.ts has the rest of the file modules).
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { copyModule } from '../../src/modules/copy.js';
import { fileModule } from '../../src/modules/file.js';
import type { Module, ModuleContext, ModuleResult } from '../../src/modules/types.js';
import { renderTemplate } from '../../src/template/index.js';
import { LocalTransport } from '../../src/transport/local.js';

const nobody = { uid: Number(execFileSync('id', ['-u', 'nobody']).toString()), gid: Number(execFileSync('id', ['-g', 'nobody']).toString()) };
const nobodyGroup = execFileSync('id', ['-gn', 'nobody']).toString().trim();

let dir: string;
beforeAll(() => {
  if (process.getuid?.() !== 0) throw new Error('these tests change owners and groups: run them as root');
});
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tsrun-ownership-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Run a module as the engine would: arguments through its schema, a context on a real shell. */
async function run(module: Module, rawArgs: Record<string, unknown>, check = false): Promise<{ result: ModuleResult; execs: number }> {
  const transport = new LocalTransport();
  let execs = 0;
  const ctx: ModuleContext = {
    host: 'localhost',
    exec: (script, execOptions) => {
      execs++;
      return transport.exec(script, execOptions);
    },
    check,
    diff: true,
    vars: {},
    render: (text, origin) => renderTemplate(text, {}, origin),
    findLocalFile: () => {
      throw new Error('no local files here');
    },
  };
  const result = await module.run(module.schema.parse(rawArgs), ctx);
  return { result, execs };
}

const modeOf = (path: string) => (statSync(path).mode & 0o7777).toString(8).padStart(4, '0');
/** Every entry below root with its mode, owner, group and content or link text. */
const tree = (root: string): string[] => {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const entry of readdirSync(d).sort()) {
      const full = join(d, entry);
      const info = lstatSync(full);
      out.push(
        `${full.slice(root.length)} ${(info.mode & 0o7777).toString(8)} ${info.uid}:${info.gid} ${info.isSymbolicLink() ? readlinkSync(full) : info.isFile() ? readFileSync(full, 'utf8') : ''}`,
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
async function converges(module: Module, args: Record<string, unknown>): Promise<ModuleResult> {
  const before = tree(dir);
  const checked = await run(module, args, true);
  expect(tree(dir)).toEqual(before);
  expect(checked.execs).toBeLessThanOrEqual(1);

  const first = await run(module, args);
  expect(first.result.failed).toBeUndefined();
  expect(first.result.changed).toBe(true);
  expect(first.execs).toBeLessThanOrEqual(2);
  expect(checked.result).toEqual(first.result);

  const second = await run(module, args);
  expect(second.result.changed).toBe(false);
  expect(second.result.failed).toBeUndefined();
  expect(second.execs).toBe(1);
  return first.result;
}

test('copy applies mode, owner and group; a mode-only change leaves the content and says so in the diff', async () => {
  const dest = join(dir, 'secret');
  await converges(copyModule, { content: 'token\n', dest, mode: '0600', owner: 'nobody', group: nobodyGroup });
  expect(modeOf(dest)).toBe('0600');
  expect(statSync(dest).uid).toBe(nobody.uid);
  expect(statSync(dest).gid).toBe(nobody.gid);

  const result = await converges(copyModule, { content: 'token\n', dest, mode: 'u=rw,g=r,o=', owner: 'root' });
  expect(modeOf(dest)).toBe('0640');
  expect(statSync(dest).uid).toBe(0);
  expect(result.diff).toEqual([{ path: dest, before: 'mode: 0600\nowner: nobody\n', after: 'mode: 0640\nowner: root\n' }]);
  // The same mode written three ways is one state.
  expect((await run(copyModule, { content: 'token\n', dest, mode: 0o640 })).result.changed).toBe(false);
  expect((await run(copyModule, { content: 'token\n', dest, mode: '0640' })).result.changed).toBe(false);
});

test('file with recurse: owner and mode for everything below, read in one exec', async () => {
  mkdirSync(join(dir, 'data', 'sub'), { recursive: true });
  writeFileSync(join(dir, 'data', 'sub', 'x'), 'x');
  await converges(fileModule, { path: join(dir, 'data'), state: 'directory', owner: 'nobody', mode: 'u=rwX,g=rX,o=', recurse: true });
  for (const p of ['data', 'data/sub', 'data/sub/x']) expect(statSync(join(dir, p)).uid).toBe(nobody.uid);
  expect(modeOf(join(dir, 'data', 'sub'))).toBe('0750');
  expect(modeOf(join(dir, 'data', 'sub', 'x'))).toBe('0640');
});

test('file with state file: mode and group of an existing file; a missing file fails', async () => {
  const path = join(dir, 'f');
  writeFileSync(path, 'x');
  chmodSync(path, 0o644);
  const result = await converges(fileModule, { path, mode: '0444', group: nobodyGroup });
  expect(result.diff).toEqual([{ path, before: `mode: 0644\ngroup: root\n`, after: `mode: 0444\ngroup: ${nobodyGroup}\n` }]);
  expect(modeOf(path)).toBe('0444');
  expect(statSync(path).gid).toBe(nobody.gid);
  const missing = await run(fileModule, { path: join(dir, 'nope'), state: 'file' });
  expect(missing.result).toMatchObject({ failed: true, msg: `file (${join(dir, 'nope')}) is absent, cannot continue` });
});
