/** `template`: render a local template with the task's variables and put it at `dest`. */
import type { z } from 'zod';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { Module } from './types.js';
import { putContent } from './copy.js';
import { moduleArgs, bool, mode, name, path } from './args.js';
import { failed, reportFailures } from './remote-file.js';

export const templateArgs = moduleArgs({
  src: path(),
  dest: path(),
  mode: mode().optional(),
  owner: name().optional(),
  group: name().optional(),
  backup: bool().default(false),
  force: bool().default(true),
  follow: bool().default(false),
});
export type TemplateArgs = z.infer<typeof templateArgs>;

export const templateModule: Module<TemplateArgs> = {
  name: 'template',
  schema: templateArgs,
  run: (args, ctx) =>
    reportFailures(async () => {
      const local = ctx.findLocalFile('templates', args.src);
      let text: string;
      try {
        text = readFileSync(local, 'utf8');
      } catch {
        return failed(`template not found: ${args.src}`);
      }
      // Rendering errors are input errors (undefined variable, syntax): they carry the template's position.
      const rendered = ctx.render(text, local);
      const name = basename(args.src).replace(/\.(j2|hbs)$/, '');
      return putContent(ctx, args, Buffer.from(rendered, 'utf8'), name);
    }),
};
