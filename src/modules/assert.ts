/** assert: fails the task, on the controller, at the first condition that does not hold. */
import { z } from 'zod';
import { bool, moduleArgs, str } from './args.js';
import { evaluateCondition } from '../template/index.js';
import { defineModule } from '../engine/apply.js';

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
