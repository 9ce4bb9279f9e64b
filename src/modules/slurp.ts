/** `slurp`: a remote file's content, base64-encoded (decode with `| b64decode`). */
import type { z } from 'zod';
import { moduleArgs, path } from './args.js';
import { defineModule } from '../engine/apply.js';
import type { ExecResult } from '../transport/types.js';
import { failure, firstLine, shellPath } from './remote-file.js';

export const slurpArgs = moduleArgs({ src: path() }, { aliases: { src: ['path'] } });
export type SlurpArgs = z.infer<typeof slurpArgs>;

export const slurpModule = defineModule({
  name: 'slurp',
  schema: slurpArgs,
  read: (args, ctx) =>
    ctx.exec([`p=${shellPath(args.src)}`, 'if [ -d "$p" ]; then exit 21; fi', 'if [ ! -e "$p" ]; then exit 22; fi', 'base64 < "$p"'].join('\n')),
  plan({ src }, read: ExecResult) {
    if (read.code === 21) return failure(`source ${src} is a directory and must be a file`);
    if (read.code === 22) return failure(`file not found: ${src}`);
    if (read.code !== 0) return failure(`reading ${src} failed: ${firstLine(read.stderr) || `exit ${read.code}`}`);
    // Re-encode without the line breaks base64(1) inserts.
    const content = Buffer.from(read.stdout, 'base64').toString('base64');
    return { changed: false, result: { content, encoding: 'base64', source: src } };
  },
});
