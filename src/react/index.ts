/**
 * `parley/react`: hooks for rendering a Parley call with React 18 or later (`react` is an
 * optional peer dependency of Parley). See docs/embedding.md.
 */
export { useParleyCall, useParleyCallFactory, type CallSource } from './use-parley-call.js';
export type { CallSnapshot } from '../client/call-snapshot.js';
