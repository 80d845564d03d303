/** @module A promise with a deadline: a hung append (a cut link) must not hold up the worker's lease check. */

export /** `promise`, or a rejection once `ms` passed without it settling (it is left to settle unobserved). */
function settleWithin<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer within ${(ms / 1000).toFixed(1)} s`)), ms);
    promise.then(
      (value) => (clearTimeout(timer), resolve(value)),
      (error: unknown) => (clearTimeout(timer), reject(error as Error)),
    );
  });
}
