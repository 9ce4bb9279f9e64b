/** `copy`: put `content` or a local `src` file at `dest`, atomically, with mode and owner. */
import { readFileSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { z } from 'zod';
import type { Module, ModuleContext, ModuleResult } from './types.js';
import { moduleArgs, bool, mode, name, path } from './args.js';
import { convergeFile, failed, formatMode, readPaths, remoteJoin, reportFailures, sha1 } from './remote-file.js';

/** copy's `content`: text, or structured data written as JSON (as Ansible does). */
const contentArg = z
  .union([z.string(), z.number(), z.boolean(), z.array(z.unknown()), z.record(z.string(), z.unknown())])
  .transform((value) => (typeof value === 'object' ? JSON.stringify(value) : String(value)));

export const copyArgs = moduleArgs(
  {
    content: contentArg.optional(),
    src: path().optional(),
    dest: path(),
    mode: mode().optional(),
    owner: name().optional(),
    group: name().optional(),
    backup: bool().default(false),
    force: bool().default(true),
    /** A symlink at dest: write the file it points at (yes), or replace the link (no). */
    follow: bool().default(false),
  },
  { checks: [[(args) => (args.content === undefined) !== (args.src === undefined), 'exactly one of content or src is required']] },
);
export type CopyArgs = z.infer<typeof copyArgs>;

/** What both copy and template do once the new content is known. */
export async function putContent(
  ctx: ModuleContext,
  args: { dest: string; mode?: string | number; owner?: string; group?: string; backup: boolean; force?: boolean; follow?: boolean },
  content: Buffer,
  /** Name used when `dest` is a directory or ends with '/'. */
  sourceName: string | undefined,
): Promise<ModuleResult> {
  const intoDirectory = args.dest.endsWith('/');
  if (intoDirectory && !sourceName) return failed(`can not use content with a dir as dest: ${args.dest}`);
  const candidate = sourceName ? remoteJoin(args.dest, sourceName) : undefined;
  // One read covers both the dest itself and dest/<name>, in case dest is a directory.
  const requests = [{ path: args.dest, follow: true, content: !intoDirectory }];
  if (candidate) requests.push({ path: candidate, follow: true, content: true });
  const read = await readPaths(ctx, requests);
  const [destState, candidateState] = read.states;
  const useCandidate = intoDirectory || (destState!.exists && (destState!.kind === 'directory' || destState!.targetKind === 'directory'));
  const state = useCandidate && candidateState ? candidateState : destState!;
  const outcome = await convergeFile(ctx, {
    state,
    umask: read.umask,
    content,
    attributes: { mode: args.mode, owner: args.owner, group: args.group },
    backup: args.backup,
    force: args.force,
    makeParent: intoDirectory,
    // A dangling link is replaced even with follow: yes, as Ansible's copy does.
    links: args.follow && state.targetKind ? 'follow' : 'replace',
  });
  const result: ModuleResult = {
    changed: outcome.changed,
    dest: outcome.path,
    // After the run the file holds the new content, or (force: no) what it held before.
    checksum: sha1(!outcome.contentChanged && state.content ? state.content : content),
    size: content.length,
    mode: formatMode(outcome.mode),
  };
  if (args.owner) result.owner = args.owner;
  if (args.group) result.group = args.group;
  if (outcome.backupFile) result.backup_file = outcome.backupFile;
  if (outcome.diff.length > 0) result.diff = outcome.diff;
  return result;
}

export const copyModule: Module<CopyArgs> = {
  name: 'copy',
  schema: copyArgs,
  run: (args, ctx) =>
    reportFailures(async () => {
      if (args.content !== undefined) return putContent(ctx, args, Buffer.from(args.content, 'utf8'), undefined);
      const local = ctx.findLocalFile('files', args.src!);
      let content: Buffer;
      try {
        if (statSync(local).isDirectory()) return failed(`src ${local} is a directory; copying directories is not supported`);
        content = readFileSync(local);
      } catch {
        return failed(`src file not found: ${args.src}`);
      }
      return putContent(ctx, args, content, basename(args.src!.replace(/\/+$/, '')));
    }),
};
