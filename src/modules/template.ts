/** `template`: render a local template with the task's variables and put it at `dest`. */
import type { z } from 'zod';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { defineModule } from '../engine/apply.js';
import { moduleArgs, path } from './args.js';
import { assumeDestParent, planPut, putArgs, readDest } from './copy.js';
import { RemoteError } from './remote-file.js';

export const templateArgs = moduleArgs({ src: path(), ...putArgs });
export type TemplateArgs = z.infer<typeof templateArgs>;

export const templateModule = defineModule({
  name: 'template',
  schema: templateArgs,
  async read(args, ctx) {
    const local = ctx.findLocalFile('templates', args.src);
    let text: string;
    try {
      text = readFileSync(local, 'utf8');
    } catch {
      throw new RemoteError(`template not found: ${args.src}`);
    }
    // Rendering errors are input errors (undefined variable, syntax): they carry the template's position.
    const rendered = ctx.render(text, local);
    return readDest(ctx, args, Buffer.from(rendered, 'utf8'), basename(args.src).replace(/\.(j2|hbs)$/, ''));
  },
  plan: (args, state) => planPut(args, state),
  assume: assumeDestParent,
});
