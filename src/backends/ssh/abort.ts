// Small AbortSignal helpers (AbortSignal.any is missing from early Node 20).

export interface Deadline {
  signal: AbortSignal;
  /** True when the deadline (not the caller) fired. */
  isTimedOut(): boolean;
  dispose(): void;
}

/** One signal that fires on the caller's abort or after `ms`. */
export function deadline(ms: number | undefined, parent?: AbortSignal): Deadline {
  const controller = new AbortController();
  let timedOut = false;
  const timer =
    ms !== undefined && Number.isFinite(ms)
      ? setTimeout(() => {
          timedOut = true;
          controller.abort(new Error(`timed out after ${ms} ms`));
        }, ms)
      : undefined;
  const onParent = () => controller.abort(parent!.reason);
  if (parent?.aborted) controller.abort(parent.reason);
  else parent?.addEventListener('abort', onParent, { once: true });
  return {
    signal: controller.signal,
    isTimedOut: () => timedOut,
    dispose: () => {
      if (timer) clearTimeout(timer);
      parent?.removeEventListener('abort', onParent);
    },
  };
}

/** Waits `ms`, or rejects with the signal's reason. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal!.reason);
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Races a promise against a signal without cancelling the promise itself. */
export function raceSignal<T>(p: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return p;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
