/** Modules that run on the controller only: debug, assert, fail, set_fact. */
import { z } from 'zod';
import { bool, int, moduleArgs, str } from './args.js';
import { evaluateCondition, evaluateExpression } from '../template/index.js';
import { defineModule } from '../engine/apply.js';

const debugArgs = moduleArgs({
  msg: z.unknown().optional(),
  var: str().optional(),
  verbosity: int().optional(),
});

export const debugModule = defineModule({
  name: 'debug',
  schema: debugArgs,
  local: true,
  // The variable's value is read from the task's variables.
  read: async (args, ctx) => (args.var !== undefined ? evaluateExpression(args.var, ctx.vars, ctx.taskPos) : undefined),
  plan: (args, value: unknown) => ({ changed: false, result: args.var !== undefined ? { [args.var]: value } : { msg: args.msg ?? 'Hello world!' } }),
});

const conditionList = z.union([z.string(), z.boolean(), z.array(z.union([z.string(), z.boolean()]))]);
const assertArgs = moduleArgs(
  {
    that: conditionList,
    fail_msg: str().optional(),
    success_msg: str().optional(),
    quiet: bool().optional(),
  },
  { aliases: { fail_msg: ['msg'] } },
);

export const assertModule = defineModule({
  name: 'assert',
  schema: assertArgs,
  local: true,
  // The first condition that does not hold, if any.
  read: async (args, ctx) => (Array.isArray(args.that) ? args.that : [args.that]).find((condition) => !evaluateCondition(condition, ctx.vars, ctx.taskPos)),
  plan(args, failing: string | boolean | undefined) {
    if (failing === undefined) return { changed: false, result: { msg: args.success_msg ?? 'All assertions passed' } };
    return { changed: false, result: { failed: true, assertion: failing, evaluated_to: false, msg: args.fail_msg ?? `Assertion failed: ${String(failing)}` } };
  },
});

const failArgs = moduleArgs({ msg: str().optional() });

export const failModule = defineModule({
  name: 'fail',
  schema: failArgs,
  local: true,
  plan: (args) => ({ changed: false, result: { failed: true, msg: args.msg ?? 'Failed as requested from task' } }),
});

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
