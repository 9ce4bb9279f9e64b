/** fail: fails the task, on the controller, with a message. */
import { moduleArgs, str } from './args.js';
import { defineModule } from '../engine/apply.js';

const failArgs = moduleArgs({ msg: str().optional() });

export const failModule = defineModule({
  name: 'fail',
  schema: failArgs,
  local: true,
  plan: (args) => ({ changed: false, result: { failed: true, msg: args.msg ?? 'Failed as requested from task' } }),
});
