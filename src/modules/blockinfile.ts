/** `blockinfile`: a marked block of lines in a text file, inserted, replaced or removed. */
import { z } from 'zod';
import { defineModule } from '../engine/apply.js';
import { assumeCreated, attributesMessage, pythonRegex, readForEdit } from './lineinfile.js';
import { bool, mode, moduleArgs, name, path, str } from './args.js';
import { planFile } from './remote-file.js';

export const blockinfileArgs = moduleArgs(
  {
    path: path(),
    block: str().default(''),
    marker: str().default('# {mark} ANSIBLE MANAGED BLOCK'),
    marker_begin: str().default('BEGIN'),
    marker_end: str().default('END'),
    insertafter: name().optional(),
    insertbefore: name().optional(),
    state: z.enum(['present', 'absent']).default('present'),
    create: bool().default(false),
    backup: bool().default(false),
    mode: mode().optional(),
    owner: name().optional(),
    group: name().optional(),
  },
  {
    aliases: { path: ['dest', 'destfile', 'name'], block: ['content'] },
    checks: [[(args) => !(args.insertafter && args.insertbefore), 'insertafter and insertbefore are mutually exclusive']],
  },
);
export type BlockinfileArgs = z.infer<typeof blockinfileArgs>;

/** Ansible's blockinfile algorithm: remove the old block (between markers), insert the new one. */
export function editBlock(original: string, args: BlockinfileArgs): string {
  const begin = args.marker.replace('{mark}', args.marker_begin);
  const end = args.marker.replace('{mark}', args.marker_end);
  const block = args.block.replace(/\n$/, '');
  const blockLines = args.state === 'present' && args.block !== '' ? [begin, ...block.split('\n'), end].map((l) => `${l}\n`) : [];
  const lines = original.match(/[^\n]*\n|[^\n]+$/g) ?? [];
  const strip = (line: string) => line.replace(/[\r\n]+$/, '');
  let n0 = -1;
  let n1 = -1;
  lines.forEach((line, i) => {
    if (strip(line) === begin) n0 = i;
    if (strip(line) === end) n1 = i;
  });
  let at: number;
  if (n0 === -1 || n1 === -1) {
    at = lines.length;
    const anchor = args.insertbefore ?? args.insertafter;
    if (anchor === 'BOF') at = 0;
    else if (anchor && anchor !== 'EOF') {
      const re = pythonRegex(anchor, args.insertbefore ? 'insertbefore' : 'insertafter');
      let last = -1;
      lines.forEach((line, i) => {
        if (re.test(strip(line))) last = i;
      });
      if (last !== -1) at = args.insertbefore ? last : last + 1;
    }
  } else {
    at = Math.min(n0, n1);
    lines.splice(at, Math.abs(n1 - n0) + 1);
  }
  if (at > 0 && blockLines.length > 0 && !lines[at - 1]!.endsWith('\n')) lines[at - 1] += '\n';
  lines.splice(at, 0, ...blockLines);
  return lines.join('');
}

export const blockinfileModule = defineModule({
  name: 'blockinfile',
  schema: blockinfileArgs,
  read: (args, ctx) => readForEdit(ctx, args.path),
  plan(args, { file, umask, createdEarlier }) {
    const path = args.path;
    if (!file.exists) {
      if (args.state === 'absent') return { changed: false, result: { msg: `File ${path} not present`, path } };
      if (!args.create && !createdEarlier) return { changed: false, result: { failed: true, msg: `Path ${path} does not exist !`, path, rc: 257 } };
    }
    const original = file.content?.toString('utf8') ?? '';
    const content = editBlock(original, args);
    const outcome = planFile({
      state: file,
      umask,
      content: Buffer.from(content, 'utf8'),
      attributes: { mode: args.mode, owner: args.owner, group: args.group },
      backup: args.backup,
      backupKey: 'backup',
    });
    let msg = '';
    if (outcome.contentChanged) msg = !file.exists ? 'File created' : args.state === 'absent' || args.block === '' ? 'Block removed' : 'Block inserted';
    return { changed: outcome.changed, result: { msg: attributesMessage(msg, outcome.attributesChanged), path }, diff: outcome.diff, changes: outcome.changes };
  },
  assume: assumeCreated,
});
