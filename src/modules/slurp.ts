/** `slurp`: a remote file's content, base64-encoded (decode with `| b64decode`). */
import type { z } from 'zod';
import { moduleArgs, path } from './args.js';
import { quote } from '../transport/quote.js';
import type { Module } from './types.js';
import { failed, firstLine, reportFailures, shellPath } from './remote-file.js';

export const slurpArgs = moduleArgs({ src: path() }, { aliases: { src: ['path'] } });
export type SlurpArgs = z.infer<typeof slurpArgs>;

export const slurpModule: Module<SlurpArgs> = {
  name: 'slurp',
  schema: slurpArgs,
  run: (args, ctx) =>
    reportFailures(async () => {
      const src = args.src;
      const script = [
        `p=${shellPath(src)}`,
        'if [ -d "$p" ]; then exit 21; fi',
        'if [ ! -e "$p" ]; then exit 22; fi',
        'base64 < "$p"',
      ].join('\n');
      const result = await ctx.exec(script);
      if (result.code === 21) return failed(`source ${src} is a directory and must be a file`);
      if (result.code === 22) return failed(`file not found: ${src}`);
      if (result.code !== 0) return failed(`reading ${src} failed: ${firstLine(result.stderr) || `exit ${result.code}`}`);
      // Re-encode without the line breaks base64(1) inserts.
      const content = Buffer.from(result.stdout, 'base64').toString('base64');
      return { changed: false, content, encoding: 'base64', source: src };
    }),
};
