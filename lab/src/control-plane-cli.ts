#!/usr/bin/env node
/**
 * Bring the lab's Kubernetes control plane up and down from the shell:
 *   control-plane-cli up --state-dir /var/lib/tsrun/k8s [--bind 127.0.0.1]   prints the kubeconfig path
 *   control-plane-cli status --state-dir /var/lib/tsrun/k8s
 *   control-plane-cli down --state-dir /var/lib/tsrun/k8s
 * The binaries come from lab/k8s/build.sh.
 */
import { Command, InvalidArgumentError } from 'commander';
import { controlPlaneStatus, defaultBinDir, DEFAULT_SECURE_PORT, startControlPlane, stopControlPlane } from './control-plane.js';

function port(text: string): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < 1 || value > 65535) throw new InvalidArgumentError('expected a port number (1-65535)');
  return value;
}

const program = new Command('control-plane')
  .description('a Kubernetes control plane (etcd, apiserver, controllers, scheduler, kwok) on this machine')
  .showHelpAfterError();

program
  .command('up')
  .description('start the control plane (or keep the one running) and print the admin kubeconfig path')
  .requiredOption('--state-dir <dir>', 'where certificates, kubeconfigs, etcd data, logs and the state live')
  .option('--bind <address>', 'the address the apiserver listens on', '127.0.0.1')
  .option('--port <port>', 'the apiserver port', port, DEFAULT_SECURE_PORT)
  .option('--bin-dir <dir>', 'where the binaries are (default: the cache lab/k8s/build.sh fills)')
  .action(async (options: { stateDir: string; bind: string; port: number; binDir?: string }) => {
    const started = Date.now();
    const plane = await startControlPlane({
      stateDir: options.stateDir,
      bindAddress: options.bind,
      securePort: options.port,
      binDir: options.binDir ?? defaultBinDir(),
    });
    console.error(`control plane ready at ${plane.server} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    console.log(plane.kubeconfig);
  });

program
  .command('down')
  .description('stop the processes (certificates, etcd data and logs stay for the next up)')
  .requiredOption('--state-dir <dir>', 'the state directory given to up')
  .action(async (options: { stateDir: string }) => {
    await stopControlPlane(options.stateDir);
  });

program
  .command('status')
  .description('list the components, their pids and memory; exit status 1 unless all run')
  .requiredOption('--state-dir <dir>', 'the state directory given to up')
  .action((options: { stateDir: string }) => {
    const components = controlPlaneStatus(options.stateDir);
    if (!components) {
      console.log(`no control plane in ${options.stateDir}`);
      process.exitCode = 1;
      return;
    }
    for (const { component, pid, up, rssKiB } of components) {
      console.log(`${component}\t${up ? `up (pid ${pid}, ${Math.round(rssKiB / 1024)} MiB)` : 'down'}`);
    }
    const totalMiB = Math.round(components.reduce((sum, { rssKiB }) => sum + rssKiB, 0) / 1024);
    console.log(`total\t${totalMiB} MiB resident`);
    if (!components.every(({ up }) => up)) process.exitCode = 1;
  });

program.parseAsync().catch((error: unknown) => {
  console.error(`control-plane: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
