/** `file`: the state of a path (file, directory, touch, link, hard, absent) and its attributes. */
import { z } from 'zod';
import { quote } from '../transport/quote.js';
import { bool, mode, moduleArgs, name, path } from './args.js';
import { defineModule } from '../engine/apply.js';
import type { Change, FileDiff } from './types.js';
import {
  attributeChanges,
  attributeCommands,
  attributeDiff,
  firstLine,
  formatMode,
  readPaths,
  RemoteError,
  remoteDirname,
  remoteJoin,
  resolveMode,
  shellPath,
  staleTempCleanup,
  tempPrefix,
  type AttributeChange,
  type PathState,
} from './remote-file.js';

const states = ['file', 'directory', 'touch', 'link', 'hard', 'absent'] as const;

export const fileArgs = moduleArgs(
  {
    path: path(),
    state: z.enum(states).optional(),
    src: path().optional(),
    mode: mode().optional(),
    owner: name().optional(),
    group: name().optional(),
    force: bool().default(false),
    recurse: bool().default(false),
    follow: bool().default(true),
  },
  {
    aliases: { path: ['dest', 'name'] },
    checks: [
      [(args) => !(args.state === 'link' || args.state === 'hard') || args.src, 'src is required for state link and hard'],
      [(args) => !args.recurse || args.state === 'directory', 'recurse requires state: directory'],
    ],
  },
);
export type FileArgs = z.infer<typeof fileArgs>;

type State = (typeof states)[number];

/** What a run decided: the script to run (if anything changes) and the diff to show. */
interface Plan {
  script: string[];
  changed: boolean;
  diff: FileDiff[];
  state: State;
}

function stateOf(path: PathState): State {
  if (!path.exists) return 'absent';
  if (path.kind === 'link') return 'link';
  return path.kind === 'directory' ? 'directory' : 'file';
}

function stateDiff(path: string, before: string, after: string): FileDiff {
  return { path, before: `state: ${before}\n`, after: `state: ${after}\n` };
}

/** Commands for the attributes that differ on an existing path. */
function attributePlan(target: PathState, args: FileArgs, isDirectory: boolean, link = false): { change: AttributeChange; script: string[] } {
  const wanted = { mode: link ? undefined : args.mode, owner: args.owner, group: args.group };
  const change = attributeChanges(target, wanted, isDirectory);
  const differs = (name: string) => change.changes.some((c) => c.name === name);
  const script = attributeCommands(
    '"$p"',
    differs('mode') ? change.mode : undefined,
    differs('owner') ? args.owner : undefined,
    differs('group') ? args.group : undefined,
    link,
  );
  return { change, script };
}

/** Attributes of a path this run creates: everything requested is set. */
function newPathAttributes(args: FileArgs, defaultMode: number, isDirectory: boolean, link = false): string[] {
  const mode = args.mode !== undefined && !link ? resolveMode(args.mode, defaultMode, isDirectory) : undefined;
  return attributeCommands('"$p"', mode, args.owner, args.group, link);
}

function entriesScript(path: string): string {
  // Every entry below the directory, for `recurse`: mode|uid|gid|owner|group|type|name,
  // each ended by a NUL, as a name may hold newlines (and '|', which comes last).
  return `if [ -d ${shellPath(path)} ]; then find ${shellPath(path)} -mindepth 1 -exec stat --printf '%a|%u|%g|%U|%G|%F|%n\\0' {} + 2>/dev/null; fi; echo @@entries-end`;
}

interface Entry extends PathState {
  isDirectory: boolean;
}

function parseEntries(stdout: string): Entry[] {
  // The marker is printed last: a name holding '@@entries-end' comes before it.
  return stdout
    .slice(0, Math.max(0, stdout.lastIndexOf('@@entries-end')))
    .split('\0')
    .filter((record) => record.includes('|'))
    .map((line) => {
      const parts = line.split('|');
      const [mode, uid, gid, owner, group, type] = parts;
      return {
        path: parts.slice(6).join('|'),
        exists: true,
        parentExists: true,
        kind: type === 'directory' ? 'directory' : type === 'symbolic link' ? 'link' : 'file',
        isDirectory: type === 'directory',
        mode: parseInt(mode!, 8),
        uid: Number(uid),
        gid: Number(gid),
        owner,
        group,
      };
    });
}

function planDirectory(path: string, target: PathState, args: FileArgs, umask: number, entries: Entry[]): Plan {
  const plan: Plan = { script: [], changed: false, diff: [], state: 'directory' };
  const defaultMode = 0o777 & ~umask;
  if (!target.exists) {
    plan.script.push(`mkdir -p -- "$p" || exit 1`, ...newPathAttributes(args, defaultMode, true));
    plan.changed = true;
    plan.diff.push(stateDiff(path, 'absent', 'directory'));
  } else if (target.kind === 'directory' || target.targetKind === 'directory') {
    const { change, script } = attributePlan(target, args, true);
    plan.script.push(...script);
    plan.changed = change.changes.length > 0;
    if (plan.changed) plan.diff.push(attributeDiff(path, change.changes));
  } else {
    throw new RemoteError(`path ${path} exists but is not a directory`);
  }
  // recurse: every entry below gets the owner, group and mode (links: owner and group only).
  for (const entry of entries) {
    const isLink = entry.kind === 'link';
    const { change, script } = attributePlan(entry, args, entry.isDirectory, isLink);
    if (change.changes.length === 0) continue;
    plan.changed = true;
    plan.script.push(`p=${quote(entry.path)}`, ...script);
    if (plan.diff.length < 20) plan.diff.push(attributeDiff(entry.path, change.changes));
  }
  return plan;
}

function planLink(path: string, target: PathState, source: PathState | undefined, args: FileArgs): Plan {
  const src = args.src!;
  const plan: Plan = { script: [], changed: false, diff: [], state: 'link' };
  if (target.kind === 'link' && target.linkText === src) {
    const { change, script } = attributePlan(target, args, false, true);
    plan.script.push(...script);
    plan.changed = change.changes.length > 0;
    if (plan.changed) plan.diff.push(attributeDiff(path, change.changes));
    return plan;
  }
  if (source && !source.exists && !args.force) {
    throw new RemoteError(`src file does not exist, use "force: yes" if you really want to create the link: ${source.path}`);
  }
  if (target.kind === 'directory') throw new RemoteError(`refusing to convert from directory to symlink for ${path}`);
  if (target.exists && target.kind !== 'link' && !args.force) {
    throw new RemoteError(`refusing to convert from ${target.kind} to symlink for ${path} (use force: yes)`);
  }
  if (!target.parentExists) throw new RemoteError(`directory ${remoteDirname(path)} does not exist`);
  if (target.kind === 'link' && target.targetKind === 'directory') {
    // mv onto a link to a directory would move into that directory: replace the link itself.
    plan.script.push(`rm -f -- "$p" || exit 1`, `ln -s -- ${quote(src)} "$p" || exit 1`);
  } else {
    plan.script.push(
      ...staleTempCleanup(tempPrefix(path)),
      `tmp=${quote(tempPrefix(path))}"$$-symlnk"`,
      `rm -f -- "$tmp"`,
      `ln -s -- ${quote(src)} "$tmp" || exit 1`,
      `mv -f -- "$tmp" "$p" || { rm -f -- "$tmp"; exit 1; }`,
    );
  }
  plan.script.push(...newPathAttributes(args, 0o777, false, true));
  plan.changed = true;
  plan.diff.push({
    path,
    before: target.kind === 'link' ? `src: ${target.linkText}\n` : `state: ${stateOf(target)}\n`,
    after: `src: ${src}\n`,
  });
  return plan;
}

function planHard(path: string, target: PathState, source: PathState, args: FileArgs): Plan {
  const plan: Plan = { script: [], changed: false, diff: [], state: 'hard' };
  if (!source.exists) throw new RemoteError(`src file does not exist: ${source.path}`);
  if (target.exists && target.inode === source.inode && target.device === source.device) {
    const { change, script } = attributePlan(target, args, false);
    plan.script.push(...script);
    plan.changed = change.changes.length > 0;
    if (plan.changed) plan.diff.push(attributeDiff(path, change.changes));
    return plan;
  }
  if (target.kind === 'directory') throw new RemoteError(`refusing to convert from directory to hard link for ${path}`);
  if (target.exists && !args.force) throw new RemoteError(`Cannot link, ${target.kind} exists at destination ${path} (use force: yes)`);
  plan.script.push(
    ...staleTempCleanup(tempPrefix(path)),
    `tmp=${quote(tempPrefix(path))}"$$-hardln"`,
    `rm -f -- "$tmp"`,
    `ln -- ${quote(args.src!)} "$tmp" || exit 1`,
    `mv -f -- "$tmp" "$p" || { rm -f -- "$tmp"; exit 1; }`,
    ...newPathAttributes(args, source.mode ?? 0o644, false),
  );
  plan.changed = true;
  plan.diff.push(stateDiff(path, stateOf(target), 'hard'));
  return plan;
}

function plan(path: string, state: State, target: PathState, source: PathState | undefined, args: FileArgs, umask: number, entries: Entry[]): Plan {
  switch (state) {
    case 'absent':
      if (!target.exists) return { script: [], changed: false, diff: [], state };
      return { script: [`rm -rf -- "$p" || exit 1`], changed: true, diff: [stateDiff(path, stateOf(target), 'absent')], state };
    case 'directory':
      return planDirectory(path, target, args, umask, entries);
    case 'file': {
      if (!target.exists) throw new RemoteError(`file (${path}) is absent, cannot continue`);
      const isDirectory = target.kind === 'directory' || target.targetKind === 'directory';
      if (isDirectory) throw new RemoteError(`path ${path} is a directory, expected a file`);
      const { change, script } = attributePlan(target, args, false);
      return { script, changed: change.changes.length > 0, diff: change.changes.length ? [attributeDiff(path, change.changes)] : [], state };
    }
    case 'touch': {
      // Like Ansible, touch updates the times and so always reports a change.
      if (!target.exists) {
        if (!target.parentExists) throw new RemoteError(`directory ${remoteDirname(path)} does not exist, cannot touch ${path}`);
        return {
          script: [`touch -- "$p" || exit 1`, ...newPathAttributes(args, 0o666 & ~umask, false)],
          changed: true,
          diff: [stateDiff(path, 'absent', 'touch')],
          state,
        };
      }
      const { change, script } = attributePlan(target, args, target.kind === 'directory');
      const diff = [stateDiff(path, stateOf(target), 'touch')];
      if (change.changes.length) diff.push(attributeDiff(path, change.changes));
      return { script: [`touch -- "$p" || exit 1`, ...script], changed: true, diff, state };
    }
    case 'link':
      return planLink(path, target, source, args);
    case 'hard':
      return planHard(path, target, source!, args);
  }
}

/** What the file module reads: the path, the link source (link, hard), the entries below (recurse). */
export interface FileState {
  target: PathState;
  source?: PathState;
  umask: number;
  entries: Entry[];
}

export const fileModule = defineModule({
  name: 'file',
  schema: fileArgs,
  async read(args, ctx): Promise<FileState> {
    const requests = [{ path: args.path, follow: args.follow && args.state !== 'link' && args.state !== 'hard' }];
    if (args.state === 'link') {
      // A relative link is resolved from the link's own directory.
      requests.push({ path: args.src!.startsWith('/') ? args.src! : remoteJoin(remoteDirname(args.path), args.src!), follow: true });
    }
    if (args.state === 'hard') requests.push({ path: args.src!, follow: true });
    const read = await readPaths(ctx, requests, args.recurse ? entriesScript(args.path) : undefined);
    const [target, source] = read.states;
    return { target: target!, source, umask: read.umask, entries: args.recurse ? parseEntries(read.extra) : [] };
  },
  plan(args, { target, source, umask, entries }) {
    // The path as the host read it (a `~` expanded).
    const path = target.path;
    const state: State = args.state ?? (target.exists ? (target.kind === 'directory' ? 'directory' : target.kind === 'link' ? 'link' : 'file') : 'file');
    if (!args.state && state === 'link') return { changed: false, result: { path, state } };
    const decided = plan(path, state, target, source, args, umask, entries);
    const result: Record<string, unknown> = { path, state: decided.state };
    if (args.mode !== undefined && state !== 'link' && state !== 'absent') {
      result.mode = formatMode(resolveMode(args.mode, target.mode ?? 0o777 & ~umask, state === 'directory'));
    }
    const changes: Change[] = decided.changed
      ? [
          {
            run: [`p=${quote(path)}`, ...decided.script].join('\n'),
            error: (outcome) => `${state} ${path} failed: ${firstLine(outcome.stderr) || `exit ${outcome.code}`}`,
          },
        ]
      : [];
    return { changed: decided.changed, result, diff: decided.diff, changes };
  },
  // A missing parent directory or link source may be one an earlier task creates.
  assume(state): FileState | undefined {
    const { target, source } = state;
    if (target.exists && (!source || source.exists)) return undefined;
    return {
      ...state,
      target: target.exists ? target : { ...target, parentExists: true },
      source: source && !source.exists ? { ...source, exists: true, kind: 'file' as const, parentExists: true } : source,
    };
  },
});
