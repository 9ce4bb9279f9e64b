/** debug: shows a message, or a variable's value, on the controller. */
import { z } from 'zod';
import { int, moduleArgs, str } from './args.js';
import { evaluateExpression } from '../template/index.js';
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
