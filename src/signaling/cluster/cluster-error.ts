/**
 * Why a cluster operation (a room step, a relay, a directory write) did not happen. The
 * signaling app turns `redis-unavailable` into a clear refusal for the client (a join refused
 * while Redis is away, a relay answered with an error) instead of crashing or waiting forever.
 */

/** Closed set of cluster failure codes. */
export type ClusterErrorCode = 'redis-unavailable' | 'contention';

/** A cluster failure with a literal code, a message for people and the underlying cause. */
export class ClusterError extends Error {
  override readonly name = 'ClusterError';

  constructor(
    readonly code: ClusterErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** Redis did not answer (down, restarting, unreachable, or too slow): nothing was changed, or it is unknown whether it was. */
  static redisUnavailable(operation: string, cause?: unknown): ClusterError {
    return new ClusterError('redis-unavailable', `Redis is unavailable: ${operation} did not happen.`, { cause });
  }

  /** A room changed under us on every try: too many nodes stepped it at once. */
  static contention(key: string, attempts: number): ClusterError {
    return new ClusterError(
      'contention',
      `Room "${key}" kept changing under this node: gave up after ${attempts} attempts.`,
    );
  }
}
