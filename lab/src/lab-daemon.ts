/**
 * The lab's controllers, one process in the background for the lab's life: MetalLB's
 * address assignment and the registry workload runner, reconciled every second.
 *
 *   node lab/dist/lab-daemon.js --state-dir D --kubeconfig K --bridge BR --pool A,B,C
 */
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { list } from './kube.js';
import { LoadBalancer } from './loadbalancer.js';
import { isAlive as alive } from './processes.js';
import { exposingService, registryContainer, runRegistry, stopWorkload, type Workload } from './workloads.js';

const { values } = parseArgs({
  options: {
    'state-dir': { type: 'string' },
    kubeconfig: { type: 'string' },
    bridge: { type: 'string' },
    pool: { type: 'string' },
  },
});
const stateDir = values['state-dir']!;
const kubeconfig = values.kubeconfig!;
const loadBalancer = new LoadBalancer({ kubeconfig, bridge: values.bridge!, pool: (values.pool ?? '').split(',').filter(Boolean) });
const workloads = new Map<string, Workload>();
const problems = new Map<string, string>();

function saveState(): void {
  const state = { pid: process.pid, workloads: [...workloads.values()], problems: Object.fromEntries(problems) };
  // Written beside and renamed, so `lab status` never reads half a file.
  writeFileSync(join(stateDir, 'daemon-state.json.tmp'), JSON.stringify(state, null, 2));
  renameSync(join(stateDir, 'daemon-state.json.tmp'), join(stateDir, 'daemon-state.json'));
}

async function reconcile(): Promise<void> {
  const addresses = await loadBalancer.reconcile();
  const [deployments, services] = await Promise.all([list(kubeconfig, 'deployments'), list(kubeconfig, 'services')]);
  const wanted = new Set<string>();
  for (const deployment of deployments) {
    if (!registryContainer(deployment) || !(deployment.status?.availableReplicas > 0)) continue;
    const exposed = exposingService(deployment, services, addresses);
    if (!exposed) continue;
    const key = `${deployment.metadata.namespace}/${deployment.metadata.name}`;
    wanted.add(key);
    try {
      const workload = await runRegistry({
        kubeconfig,
        deployment,
        address: exposed.address,
        port: exposed.port,
        stateDir,
        dataDir: join(stateDir, 'volumes'),
        current: workloads.get(key),
      });
      workloads.set(key, workload);
      problems.delete(key);
    } catch (error) {
      problems.set(key, (error as Error).message);
    }
  }
  for (const [key, workload] of workloads) {
    if (!wanted.has(key) || !alive(workload.pid)) {
      if (!wanted.has(key)) stopWorkload(workload);
      workloads.delete(key);
    }
  }
  saveState();
}

async function loop(): Promise<void> {
  for (;;) {
    try {
      await reconcile();
    } catch (error) {
      problems.set('controller', (error as Error).message);
      saveState();
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

async function shutdown(): Promise<void> {
  for (const workload of workloads.values()) stopWorkload(workload);
  await loadBalancer.releaseAll();
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown());
process.on('SIGINT', () => void shutdown());
void loop();
