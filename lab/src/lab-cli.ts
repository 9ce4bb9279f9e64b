/** `make lab-up` / `lab-down` / `lab-status`: node lab/dist/lab-cli.js up|down|status [--workers N] */
import { parseArgs } from 'node:util';
import { labDown, labStatus, labUp } from './lab.js';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { workers: { type: 'string' }, subnet: { type: 'string' }, 'state-dir': { type: 'string' } },
});
const options = { workers: values.workers ? Number(values.workers) : undefined, subnet: values.subnet, stateDir: values['state-dir'] };

try {
  switch (positionals[0]) {
    case 'up':
      await labUp(options);
      break;
    case 'down':
      await labDown(options);
      break;
    case 'status':
      process.stdout.write(`${labStatus(options)}\n`);
      break;
    default:
      process.stderr.write('usage: lab-cli.js up|down|status [--workers N] [--subnet CIDR]\n');
      process.exitCode = 5;
  }
} catch (error) {
  process.stderr.write(`lab: ${(error as Error).message}\n`);
  process.exitCode = 1;
}
