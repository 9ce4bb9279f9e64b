/** The module registry: short names and fully-qualified aliases. */
import { blockinfileModule } from './blockinfile.js';
import { commandModule, shellModule } from './command.js';
import { assertModule, debugModule, failModule, setFactModule } from './control.js';
import { copyModule } from './copy.js';
import { fileModule } from './file.js';
import { k8sModule } from './k8s.js';
import { lineinfileModule } from './lineinfile.js';
import { serviceModule } from './service.js';
import { slurpModule } from './slurp.js';
import { statModule } from './stat.js';
import { templateModule } from './template.js';
import type { Module } from './types.js';
import { waitForModule } from './wait_for.js';

const modules: Module[] = [
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
  byName.set(module.name, module);
  for (const alias of module.aliases ?? []) byName.set(alias, module);
}

export function findModule(name: string): Module | undefined {
  return byName.get(name);
}

/** Every accepted module name (for did-you-mean). */
export function moduleNames(): string[] {
  return [...byName.keys()];
}
