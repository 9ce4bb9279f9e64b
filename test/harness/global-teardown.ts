/** Jest globalTeardown: stop the shared test hosts if this run started them. */
import type { SharedTestHosts } from './global-setup.js';

export default async function globalTeardown(): Promise<void> {
  const shared = (globalThis as { tsrunTestHosts?: SharedTestHosts }).tsrunTestHosts;
  if (shared?.startedHere) await shared.lab.stopTestHosts(shared.stateDir);
}
