/** The module registry: short names and fully-qualified aliases. */
import { assertModule } from './assert.js';
import { blockinfileModule } from './blockinfile.js';
import { commandModule, shellModule } from './command.js';
import { copyModule } from './copy.js';
import { debugModule } from './debug.js';
import { failModule } from './fail.js';
import { fileModule } from './file.js';
import { k8sModule } from './k8s.js';
import { lineinfileModule } from './lineinfile.js';
import { serviceModule } from './service.js';
import { setFactModule } from './set_fact.js';
import { slurpModule } from './slurp.js';
import { statModule } from './stat.js';
import { templateModule } from './template.js';
import type { Module } from './types.js';
import { waitForModule } from './wait_for.js';

export const modules: readonly Module[] = [
  commandModule,
  shellModule,
  copyModule,
  templateModule,
  fileModule,
  lineinfileModule,
  blockinfileModule,
  statModule,
  slurpModule,
  serviceModule,
  waitForModule,
  debugModule,
  assertModule,
  failModule,
  setFactModule,
  k8sModule,
];

const byName = new Map<string, Module>();
for (const module of modules) {
  const collection = module.collection ?? 'ansible.builtin';
  for (const name of [module.name, ...(module.aliases ?? [])]) {
    byName.set(name, module);
    if (name.includes('.')) continue;
    byName.set(`${collection}.${name}`, module);
    if (collection === 'ansible.builtin') byName.set(`ansible.legacy.${name}`, module);
  }
}

export function findModule(name: string): Module | undefined {
  return byName.get(name);
}

/** Every accepted module name (for did-you-mean). */
export function moduleNames(): string[] {
  return [...byName.keys()];
}
