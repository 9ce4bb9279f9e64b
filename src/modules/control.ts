/** Modules that run on the controller only: debug, assert, fail, set_fact. */
import { z } from 'zod';
import { bool, int, moduleArgs, str } from './args.js';
import { evaluateCondition, evaluateExpression } from '../template/index.js';
import type { Module } from './types.js';

const debugArgs = moduleArgs({
  msg: z.unknown().optional(),
  var: str().optional(),
  verbosity: int().optional(),
});

export const debugModule: Module<z.infer<typeof debugArgs>> = {
  name: 'debug',
  schema: debugArgs,
  local: true,
  async run(args, ctx) {
    if (args.var !== undefined) {
      return { changed: false, [args.var]: evaluateExpression(args.var, ctx.vars, ctx.taskPos) };
    }
    return { changed: false, msg: args.msg ?? 'Hello world!' };
  },
};

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

export const assertModule: Module<z.infer<typeof assertArgs>> = {
  name: 'assert',
  schema: assertArgs,
  local: true,
  async run(args, ctx) {
    const conditions = Array.isArray(args.that) ? args.that : [args.that];
    for (const condition of conditions) {
      if (!evaluateCondition(condition, ctx.vars, ctx.taskPos)) {
        return {
          changed: false,
          failed: true,
          assertion: condition,
          evaluated_to: false,
          msg: args.fail_msg ?? `Assertion failed: ${String(condition)}`,
        };
      }
    }
    return { changed: false, msg: args.success_msg ?? 'All assertions passed' };
  },
};

const failArgs = moduleArgs({ msg: str().optional() });

export const failModule: Module<z.infer<typeof failArgs>> = {
  name: 'fail',
  schema: failArgs,
  local: true,
  async run(args) {
    return { changed: false, failed: true, msg: args.msg ?? 'Failed as requested from task' };
  },
};

const setFactArgs = z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a variable name'), z.unknown());

export const setFactModule: Module<z.infer<typeof setFactArgs>> = {
  name: 'set_fact',
  schema: setFactArgs,
  local: true,
  async run(args) {
    const { cacheable: _cacheable, ...facts } = args;
    void _cacheable;
    // The engine stores `ansible_facts` of a result as host facts, as Ansible does.
    return { changed: false, ansible_facts: facts };
  },
};
