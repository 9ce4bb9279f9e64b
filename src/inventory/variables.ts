/**
 * A host's variables from the inventory side, merged in Ansible's order (its default
 * VARIABLE_PRECEDENCE), lowest to highest:
 *
 *   1. `all` group vars from the inventory files
 *   2. every other group's vars from the inventory files, shallow groups before deep ones
 *      (same depth: `ansible_group_priority`, then name)
 *   3. `group_vars/all` beside the inventory sources, then 4. beside the playbook
 *   5. `group_vars/<group>` beside the inventory sources (same group order), then
 *   6. beside the playbook
 *   7. host vars from the inventory files
 *   8. `host_vars/<host>` beside the inventory sources, then 9. beside the playbook
 *
 * So any `group_vars/` file beats any group vars written in the inventory file itself,
 * and `group_vars/all.yml` beats `[web:vars]`: Ansible's rule, surprising but relied on.
 * Merging is shallow (Ansible's default `hash_behaviour=replace`). Magic variables
 * (`inventory_hostname`, `group_names`, `groups`, ...) are set last.
 */
import { isIP } from 'node:net';
import { dirname, resolve } from 'node:path';
import { groupsOfHost, hostsOfGroup } from './membership.js';
import type { Inventory } from './types.js';
import { VarsFileCache } from './vars-files.js';

type Vars = Record<string, unknown>;

const caches = new WeakMap<Inventory, VarsFileCache>();

function cacheOf(inv: Inventory): VarsFileCache {
  let cache = caches.get(inv);
  if (!cache) {
    cache = new VarsFileCache();
    caches.set(inv, cache);
  }
  return cache;
}

/** As Ansible: an address keeps its dots in inventory_hostname_short. */
const isIpAddress = (name: string) => isIP(name) !== 0;

export function hostVariables(inv: Inventory, host: string, options: { playbookDir?: string } = {}): Vars {
  const entry = inv.hosts.get(host);
  if (!entry) return {};
  const cache = cacheOf(inv);
  const groups = groupsOfHost(inv, host).slice(1); // without 'all'
  const inventoryDirs = inv.varsDirs;
  const playbookDirs = options.playbookDir ? [resolve(options.playbookDir)] : [];
  const fromFiles = (dirs: string[], kind: 'group_vars' | 'host_vars', names: string[]) =>
    dirs.flatMap((dir) => names.map((name) => cache.varsFor(dir, kind, name) ?? {}));

  const layers: Vars[] = [
    inv.groups.get('all')!.vars,
    ...groups.map((name) => inv.groups.get(name)!.vars),
    ...fromFiles(inventoryDirs, 'group_vars', ['all']),
    ...fromFiles(playbookDirs, 'group_vars', ['all']),
    ...fromFiles(inventoryDirs, 'group_vars', groups),
    ...fromFiles(playbookDirs, 'group_vars', groups),
    entry.vars,
    ...fromFiles(inventoryDirs, 'host_vars', [host]),
    ...fromFiles(playbookDirs, 'host_vars', [host]),
  ];
  const vars: Vars = Object.assign({}, ...layers);

  vars.inventory_hostname = host;
  vars.inventory_hostname_short = isIpAddress(host) ? host : host.split('.')[0];
  // As Ansible: every group but `all`, so a host in no group has ['ungrouped'].
  vars.group_names = [...groups].sort();
  vars.groups = Object.fromEntries([...inv.groups.keys()].map((name) => [name, hostsOfGroup(inv, name)]));
  if (entry.source) {
    vars.inventory_file = entry.source;
    vars.inventory_dir = dirname(entry.source);
  }
  return vars;
}
