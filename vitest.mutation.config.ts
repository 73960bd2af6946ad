import { BaseSequencer, type TestSpecification } from 'vitest/node';
import { defineConfig } from 'vitest/config';
import baseConfig from './vitest.config.js';

/**
 * The tests that StrykerJS runs against each mutant (`npm run mutation`, stryker.config.json): the
 * unit, property, model-based and integration tests of the machines, the signaling core and the
 * engine's codec and limits. Browser end-to-end tests, tests of a child process (the CLI, the
 * operations tests), of Node versions and of the packed package are left out: they test the
 * product around the mutated code, take seconds each, and would be run for almost every mutant.
 */
const defaultMutationTests = [
  'test/*machine*.test.ts',
  'test/peer-*.test.ts',
  'test/call-*.test.ts',
  'test/room-*.test.ts',
  'test/signaling*.test.ts',
  'test/engine-*.test.ts',
  'test/socket-io-*.test.ts',
  'test/xstate-internals*.test.ts',
  'test/transition-table*.test.ts',
  'test/snapshot-stepper*.test.ts',
  'test/token-bucket*.test.ts',
  'test/deadline-queue*.test.ts',
  'test/address-table*.test.ts',
  'test/active-transport*.test.ts',
];

/**
 * `PARLEY_MUTATION_TESTS=test/a.test.ts,test/b*.test.ts npm run mutation -- --mutate src/x.ts`
 * narrows the tests for a quick run on one area. Stryker's own `--testFiles` must not be used for
 * that: with it, Stryker 9.6 switches on a static mutant only after its module has loaded, and
 * reports it as survived (stryker-js issue #6144).
 */
const mutationTests = process.env['PARLEY_MUTATION_TESTS']?.split(',') ?? defaultMutationTests;

/**
 * Runs the quickest test files first. A mutant that Stryker cannot switch on inside a running
 * test (one in a machine's config, evaluated when its module loads) runs every test file that
 * imports its module, and stops at the first failure: the unit tests, which fail in milliseconds,
 * should come before the model and property tests that take half a minute.
 */
class QuickestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    // vitest's own order is the slowest (and never yet run, and largest) first.
    return (await super.sort(files)).reverse();
  }
}

export default defineConfig({
  ...baseConfig,
  plugins: [
    {
      name: 'parley:mutation-in-forks',
      // Stryker's vitest runner asks for `pool: 'threads'`, and its options override this file. Worker
      // threads that load uWebSockets.js abort the whole process when they are torn down (its native
      // module has no cleanup for a terminated thread), so each project is moved back to child
      // processes once vitest has resolved it, before any test file runs.
      configureVitest({ project }) {
        project.config.pool = 'forks';
      },
    },
  ],
  test: {
    ...baseConfig.test,
    sequence: { sequencer: QuickestFirst },
    // Replaces the base config's list (mergeConfig would append to it).
    include: mutationTests,
    exclude: [
      '**/node_modules/**',
      'test/**/*.e2e.test.ts',
      'test/**/*.process.test.ts',
      // A load test bounded by wall-clock time: instrumented code does less within the bound, and
      // it would be rerun for nearly every engine mutant.
      'test/engine-fuzz.test.ts',
    ],
  },
});
