/** set_fact: sets host variables, on the controller. */
import { z } from 'zod';
import { defineModule } from '../engine/apply.js';

const setFactArgs = z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a variable name'), z.unknown());

export const setFactModule = defineModule({
  name: 'set_fact',
  schema: setFactArgs,
  local: true,
  plan(args) {
    const { cacheable: _cacheable, ...facts } = args;
    void _cacheable;
    // The engine stores `ansible_facts` of a result as host facts, as Ansible does.
    return { changed: false, result: { ansible_facts: facts } };
  },
});
