/** The fake local media live in `parley/testing` (src/testing/fake-media.ts), for users' tests too. */
export * from '../../src/testing/fake-media.js';
