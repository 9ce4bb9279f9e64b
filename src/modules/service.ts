/**
 * `service` / `systemd`: start, stop, restart, reload and enable units. systemd when it
 * runs on the host, SysV init scripts otherwise. One exec reads the state, at most one changes it.
 */
import { z } from 'zod';
import { bool, int, moduleArgs, name, str } from './args.js';
import { quote } from '../transport/quote.js';
import { defineModule } from '../engine/apply.js';
import { failure } from './remote-file.js';
import type { Plan } from './types.js';

const serviceArgs = moduleArgs(
  {
    name: name(),
    state: z.enum(['started', 'stopped', 'restarted', 'reloaded']).optional(),
    enabled: bool().optional(),
    daemon_reload: bool().optional(),
    daemon_reexec: bool().optional(),
    masked: bool().optional(),
    force: bool().optional(),
    scope: z.enum(['system']).optional(),
    no_block: bool().optional(),
    pattern: str().optional(),
    arguments: str().optional(),
    runlevel: str().optional(),
    sleep: int().optional(),
    use: str().optional(),
  },
  { aliases: { name: ['service', 'unit'], arguments: ['args'], daemon_reload: ['daemon-reload'], daemon_reexec: ['daemon-reexec'] } },
);
type ServiceArgs = z.infer<typeof serviceArgs>;

function stateScript(name: string): string {
  const unit = quote(name);
  return `
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
  echo "manager=systemd"
  echo "active=$(systemctl is-active ${unit} 2>/dev/null)"
  echo "enabled=$(systemctl is-enabled ${unit} 2>/dev/null)"
  echo "load=$(systemctl show -p LoadState --value ${unit} 2>/dev/null)"
elif [ -x /etc/init.d/${unit} ]; then
  echo "manager=sysv"
  if /etc/init.d/${unit} status >/dev/null 2>&1; then echo active=active; else echo active=inactive; fi
  if ls /etc/rc2.d/S??${unit} >/dev/null 2>&1; then echo enabled=enabled; else echo enabled=disabled; fi
  echo load=loaded
else
  echo "manager=none"
fi`;
}

function parseState(stdout: string): Record<string, string> {
  const state: Record<string, string> = {};
  for (const line of stdout.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) state[line.slice(0, eq)] = line.slice(eq + 1).trim();
  }
  return state;
}

/** The service as read; `installedEarlier`: a missing one taken as installed by an earlier task. */
type ServiceState = Record<string, string> & { installedEarlier?: string };

export function planService(args: ServiceArgs, state: ServiceState): Plan {
  if (state.manager === 'none' || state.load === 'not-found') {
    // An earlier task may be what installs the service: tell the change a run would make.
    if (state.installedEarlier && ((args.state !== undefined && args.state !== 'stopped') || args.enabled === true)) {
      const verb = args.state === undefined ? 'enable' : args.state.replace(/ed$/, '');
      return { changed: true, result: { name: args.name, msg: `service ${args.name} is not installed yet; a real run would ${verb} it` } };
    }
    return failure(`Could not find the requested service ${args.name}`);
  }
  const systemd = state.manager === 'systemd';
  const active = state.active === 'active' || state.active === 'activating' || state.active === 'reloading';
  const enabled = state.enabled === 'enabled' || state.enabled === 'enabled-runtime' || state.enabled === 'static' || state.enabled === 'alias';
  const unit = quote(args.name);
  const steps: string[] = [];
  const changes: string[] = [];

  if (args.daemon_reload && systemd) steps.push('systemctl daemon-reload');
  if (args.enabled !== undefined && args.enabled !== enabled) {
    changes.push(`enabled: ${enabled} -> ${args.enabled}`);
    if (systemd) steps.push(`systemctl ${args.enabled ? 'enable' : 'disable'} ${unit}`);
    else steps.push(args.enabled ? `update-rc.d ${unit} defaults` : `update-rc.d -f ${unit} remove`);
  }
  const control = (verb: string): string => (systemd ? `systemctl ${verb} ${unit}` : `/etc/init.d/${unit} ${verb}`);
  switch (args.state) {
    case 'started':
      if (!active) {
        changes.push('state: stopped -> started');
        steps.push(control('start'));
      }
      break;
    case 'stopped':
      if (active) {
        changes.push('state: started -> stopped');
        steps.push(control('stop'));
      }
      break;
    case 'restarted':
      changes.push('state: restarted');
      steps.push(active ? control('restart') : control('start'));
      break;
    case 'reloaded':
      changes.push('state: reloaded');
      steps.push(active ? control('reload') : control('start'));
      break;
    default:
      break;
  }

  return {
    changed: changes.length > 0,
    result: {
      name: args.name,
      state: args.state === 'stopped' ? 'stopped' : args.state ? 'started' : active ? 'started' : 'stopped',
      enabled: args.enabled ?? enabled,
    },
    diff: changes.length ? [{ path: `service ${args.name}`, before: '', after: changes.join('\n') + '\n' }] : [],
    changes: steps.length
      ? [{ run: `set -e\n${steps.join('\n')}`, error: (run) => `Unable to change service ${args.name}: ${(run.stderr || run.stdout).trim()}` }]
      : [],
  };
}

export const serviceModule = defineModule({
  name: 'service',
  aliases: ['systemd', 'systemd_service'],
  schema: serviceArgs,
  read: async (args, ctx): Promise<ServiceState> => parseState((await ctx.exec(stateScript(args.name))).stdout),
  plan: planService,
  assume: (state) => (state.manager === 'none' || state.load === 'not-found' ? { ...state, installedEarlier: 'yes' } : undefined),
});
