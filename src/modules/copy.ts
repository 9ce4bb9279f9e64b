/** `copy`: put `content` or a local `src` file at `dest`, atomically, with mode and owner. */
import { readFileSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { z } from 'zod';
import { defineModule } from '../engine/apply.js';
import type { Plan, ReadContext } from './types.js';
import { moduleArgs, bool, mode, name, path } from './args.js';
import { formatMode, planFile, readPaths, RemoteError, remoteJoin, sha1, withParent, type RemoteRead } from './remote-file.js';

/** copy's `content`: text, or structured data written as JSON (as Ansible does). */
const contentArg = z
  .union([z.string(), z.number(), z.boolean(), z.array(z.unknown()), z.record(z.string(), z.unknown())])
  .transform((value) => (typeof value === 'object' ? JSON.stringify(value) : String(value)));

/** What copy and template share: where the file goes and what it looks like there. */
export const putArgs = {
  dest: path(),
  mode: mode().optional(),
  owner: name().optional(),
  group: name().optional(),
  backup: bool().default(false),
  force: bool().default(true),
  /** A symlink at dest: write the file it points at (yes), or replace the link (no). */
  follow: bool().default(false),
};

export const copyArgs = moduleArgs(
  {
    content: contentArg.optional(),
    src: path().optional(),
    ...putArgs,
  },
  { checks: [[(args) => (args.content === undefined) !== (args.src === undefined), 'exactly one of content or src is required']] },
);
export type CopyArgs = z.infer<typeof copyArgs>;

/** What both copy and template need: the new content, and dest (and dest/<name>) as read. */
export interface PutState {
  content: Buffer;
  /** Name used when `dest` is a directory or ends with '/'. */
  sourceName?: string;
  read: RemoteRead;
}

export interface PutArgs {
  dest: string;
  mode?: string | number;
  owner?: string;
  group?: string;
  backup: boolean;
  force?: boolean;
  follow?: boolean;
}

/** Read dest, and dest/<name> in case dest is a directory, in one exec. */
export async function readDest(ctx: ReadContext, args: PutArgs, content: Buffer, sourceName: string | undefined): Promise<PutState> {
  const intoDirectory = args.dest.endsWith('/');
  if (intoDirectory && !sourceName) throw new RemoteError(`can not use content with a dir as dest: ${args.dest}`);
  const requests = [{ path: args.dest, follow: true, content: !intoDirectory }];
  if (sourceName) requests.push({ path: remoteJoin(args.dest, sourceName), follow: true, content: true });
  return { content, sourceName, read: await readPaths(ctx, requests) };
}

/** What both copy and template do once the new content is known. */
export function planPut(args: PutArgs, { content, read }: PutState): Plan {
  const intoDirectory = args.dest.endsWith('/');
  const [destState, candidateState] = read.states;
  const useCandidate = intoDirectory || (destState!.exists && (destState!.kind === 'directory' || destState!.targetKind === 'directory'));
  const state = useCandidate && candidateState ? candidateState : destState!;
  const outcome = planFile({
    state,
    umask: read.umask,
    content,
    attributes: { mode: args.mode, owner: args.owner, group: args.group },
    backup: args.backup,
    backupKey: 'backup_file',
    force: args.force,
    makeParent: intoDirectory,
    // A dangling link is replaced even with follow: yes, as Ansible's copy does.
    links: args.follow && state.targetKind ? 'follow' : 'replace',
  });
  const result: Record<string, unknown> = {
    dest: outcome.path,
    // After the run the file holds the new content, or (force: no) what it held before.
    checksum: sha1(!outcome.contentChanged && state.content ? state.content : content),
    size: content.length,
    mode: formatMode(outcome.mode),
  };
  if (args.owner) result.owner = args.owner;
  if (args.group) result.group = args.group;
  return { changed: outcome.changed, result, diff: outcome.diff, changes: outcome.changes };
}

/** The read, as it is once an earlier task made the directories dest needs. */
export function assumeDestParent(state: PutState): PutState | undefined {
  const states = state.read.states.map((s) => withParent(s));
  if (states.every((s) => s === undefined)) return undefined;
  return { ...state, read: { ...state.read, states: state.read.states.map((s, i) => states[i] ?? s) } };
}

export const copyModule = defineModule({
  name: 'copy',
  schema: copyArgs,
  async read(args, ctx) {
    if (args.content !== undefined) return readDest(ctx, args, Buffer.from(args.content, 'utf8'), undefined);
    const local = ctx.findLocalFile('files', args.src!);
    let content: Buffer;
    try {
      if (statSync(local).isDirectory()) throw new RemoteError(`src ${local} is a directory; copying directories is not supported`);
      content = readFileSync(local);
    } catch (error) {
      if (error instanceof RemoteError) throw error;
      throw new RemoteError(`src file not found: ${args.src}`);
    }
    return readDest(ctx, args, content, basename(args.src!.replace(/\/+$/, '')));
  },
  plan: (args, state) => planPut(args, state),
  assume: assumeDestParent,
});
