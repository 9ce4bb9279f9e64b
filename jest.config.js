/**
 * Jest runs the TypeScript sources directly (ts-jest, ESM), as two projects:
 *
 *   unit         test/unit: no root, no namespaces, no hosts (npm run test:unit)
 *   integration  test/integration: real sshd test hosts, brought up once per run by its
 *                globalSetup, and the lab (npm run test:integration)
 *
 * `npm test` runs both; a path (`npx jest test/unit/cli.test.ts`) picks from either.
 * `npm run coverage` runs both and writes coverage/ (of src/ as the tests import it: the CLI
 * tests run bin/tsrun from dist/ in child processes, which it does not count).
 */
import { existsSync } from 'node:fs';

/** What a bare `npx jest` gets instead of failing suites: the one thing missing. */
function hint(message) {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}
const vmModules = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)].includes('--experimental-vm-modules');
if (!vmModules) hint('the tests are ES modules: run them with npm test, npm run test:unit or npm run test:integration (node --experimental-vm-modules)');
// The CLI tests run bin/tsrun from dist/, and the lab uses the product as built.
if (!existsSync(new URL('dist/cli/main.js', import.meta.url))) hint('dist/ is not built: run npm run build first');

const typescript = {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.test.json' }],
  },
};

export default {
  testTimeout: 60000,
  collectCoverageFrom: ['<rootDir>/src/**/*.ts'],
  coverageDirectory: '<rootDir>/coverage',
  coverageReporters: ['text-summary', 'html', 'lcov'],
  projects: [
    { ...typescript, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    {
      ...typescript,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
      globalSetup: '<rootDir>/test/harness/global-setup.ts',
      globalTeardown: '<rootDir>/test/harness/global-teardown.ts',
    },
  ],
};
