/**
 * Building an inventory: the operations the INI, YAML and inline-list readers share, and
 * the final reconciliation Ansible does (implicit `all` and `ungrouped`).
 */
import { InputError, type SourcePos } from '../input-error.js';
import type { Inventory, InventoryGroup, InventoryHost } from './types.js';

export function emptyInventory(): Inventory {
  const inv: Inventory = { hosts: new Map(), groups: new Map(), sources: [], varsDirs: [] };
  addGroup(inv, 'all');
  addGroup(inv, 'ungrouped');
  return inv;
}

export function addGroup(inv: Inventory, name: string): InventoryGroup {
  let group = inv.groups.get(name);
  if (!group) {
    group = { name, vars: {}, hosts: [], children: [] };
    inv.groups.set(name, group);
  }
  return group;
}

/** Each group's members as a set, beside its ordered list: a range of 100000 hosts must not scan the list per host. */
const memberSets = new WeakMap<string[], Set<string>>();

function members(group: InventoryGroup): Set<string> {
  let set = memberSets.get(group.hosts);
  if (!set) {
    set = new Set(group.hosts);
    memberSets.set(group.hosts, set);
  }
  return set;
}

/** Add hosts to a group; a port from `host:port` becomes `ansible_port`, then the vars apply. */
export function addHosts(
  inv: Inventory,
  groupName: string,
  names: string[],
  vars: Record<string, unknown>,
  options: { port?: number; source?: string } = {},
): void {
  const group = addGroup(inv, groupName);
  const present = members(group);
  for (const name of names) {
    let host: InventoryHost | undefined = inv.hosts.get(name);
    if (!host) {
      host = { name, vars: {}, ...(options.source ? { source: options.source } : {}) };
      inv.hosts.set(name, host);
    }
    if (!present.has(name)) {
      present.add(name);
      group.hosts.push(name);
    }
    if (options.port !== undefined) host.vars.ansible_port = options.port;
    Object.assign(host.vars, vars);
  }
}

function isAncestor(inv: Inventory, candidate: string, of: string, seen = new Set<string>()): boolean {
  for (const group of inv.groups.values()) {
    if (!group.children.includes(of) || seen.has(group.name)) continue;
    if (group.name === candidate) return true;
    seen.add(group.name);
    if (isAncestor(inv, candidate, group.name, seen)) return true;
  }
  return false;
}

export function addChild(inv: Inventory, parentName: string, childName: string, pos?: SourcePos): void {
  if (childName === 'all') throw new InputError(`group 'all' cannot be a child of '${parentName}'`, pos);
  if (parentName === childName || isAncestor(inv, childName, parentName)) {
    throw new InputError(
      `adding group '${childName}' as a child of '${parentName}' creates a loop`,
      pos,
      `'${childName}' is already '${parentName}' or one of its ancestors`,
    );
  }
  const parent = addGroup(inv, parentName);
  addGroup(inv, childName);
  if (!parent.children.includes(childName)) parent.children.push(childName);
}

/**
 * Ansible's reconciliation: every group without a parent is a child of `all`, `all`
 * lists every host, and `ungrouped` keeps exactly the hosts that are in no other group.
 */
export function reconcile(inv: Inventory): Inventory {
  const all = inv.groups.get('all')!;
  const grouped = new Set<string>();
  const hasParent = new Set<string>();
  for (const group of inv.groups.values()) {
    for (const child of group.children) hasParent.add(child);
    if (group.name !== 'all' && group.name !== 'ungrouped') for (const host of group.hosts) grouped.add(host);
  }
  for (const group of inv.groups.values()) {
    if (group.name !== 'all' && !hasParent.has(group.name) && !all.children.includes(group.name)) {
      all.children.push(group.name);
    }
  }
  const ungrouped = inv.groups.get('ungrouped')!;
  ungrouped.hosts = [...inv.hosts.keys()].filter((host) => !grouped.has(host));
  all.hosts = [...inv.hosts.keys()];
  return inv;
}
