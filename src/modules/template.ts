/** `template`: render a local template with the task's variables and put it at `dest`. */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { z } from 'zod';
import type { Module } from './types.js';
import { putContent } from './copy.js';
import { failed, flag, modeArg, reportFailures } from './remote-file.js';

export const templateArgs = z.strictObject({
  src: z.string().min(1),
  dest: z.string().min(1),
  mode: modeArg.optional(),
  owner: z.string().min(1).optional(),
  group: z.string().min(1).optional(),
  backup: flag.default(false),
  force: flag.default(true),
  follow: flag.default(false),
});
export type TemplateArgs = z.infer<typeof templateArgs>;

export const templateModule: Module<TemplateArgs> = {
  name: 'template',
  aliases: ['ansible.builtin.template'],
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
