/** `stat`: facts about a remote path, Ansible's return shape (`stat.exists`, `stat.isdir`, ...). */
import { z } from 'zod';
import { defineModule } from '../engine/apply.js';
import { moduleArgs, bool, path } from './args.js';
import { formatMode, readPaths } from './remote-file.js';

export const statArgs = moduleArgs(
  {
    path: path(),
    get_checksum: bool().default(true),
    checksum_algorithm: z.enum(['sha1']).default('sha1'),
    follow: bool().default(false),
  },
  { aliases: { path: ['dest', 'name'], checksum_algorithm: ['checksum', 'checksum_algo'] } },
);
export type StatArgs = z.infer<typeof statArgs>;

export const statModule = defineModule({
  name: 'stat',
  schema: statArgs,
  read: async (args, ctx) => (await readPaths(ctx, [{ path: args.path, follow: args.follow, sha1: args.get_checksum }])).states[0]!,
  plan(args, s) {
    if (!s.exists) return { changed: false, result: { stat: { exists: false } } };
    // With follow, a link is described by what it points at.
    const kind = args.follow && s.kind === 'link' ? s.targetKind : s.kind;
    const islnk = kind === 'link';
    const stat: Record<string, unknown> = {
      exists: true,
      path: s.path,
      isdir: kind === 'directory',
      isreg: kind === 'file',
      islnk,
      mode: s.mode !== undefined ? formatMode(s.mode & 0o7777) : undefined,
      uid: s.uid,
      gid: s.gid,
      pw_name: s.owner,
      gr_name: s.group,
      size: s.size,
      mtime: s.mtime,
      inode: s.inode,
      dev: s.device,
    };
    if (islnk) {
      stat.lnk_source = s.linkResolved;
      stat.lnk_target = s.linkText;
    }
    if (args.get_checksum && s.sha1) stat.checksum = s.sha1;
    return { changed: false, result: { stat } };
  },
});
