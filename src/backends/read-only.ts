// `--read-only`: every mutating port method refuses here, before any request
// is made, so no bug above this layer can change the world. Commands run over
// the shell only when the caller marked them read-only (probes do).

import { ReadOnlyError } from '../errors.js';
import { MUTATING_METHODS, type Backends, type Shell } from './ports.js';

export function withReadOnly(backends: Backends): Backends {
  const wrapped: Backends = { ...backends, shell: readOnlyShell(backends.shell) };
  for (const [portName, methods] of Object.entries(MUTATING_METHODS)) {
    const key = portName as keyof typeof MUTATING_METHODS;
    const port = backends[key];
    if (!port) continue;
    (wrapped as unknown as Record<string, unknown>)[key] = refusing(port, key, methods);
  }
  return wrapped;
}

function refusing<T extends object>(port: T, portName: string, methods: readonly string[]): T {
  return new Proxy(port, {
    get(target, prop, receiver) {
      if (typeof prop === 'string' && methods.includes(prop)) {
        return () => Promise.reject(new ReadOnlyError(`${portName}.${prop}`));
      }
      const value = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

function readOnlyShell(shell: Shell): Shell {
  return {
    exec: (node, command, opts) =>
      opts?.readOnly === true
        ? shell.exec(node, command, opts)
        : Promise.reject(new ReadOnlyError(`running \`${command}\` on ${node.name}`)),
    pipe: (from, to) => Promise.reject(new ReadOnlyError(`piping \`${from.command}\` on ${from.node.name} to \`${to.command}\` on ${to.node.name}`)),
    loginCommand: (node) => shell.loginCommand(node),
    close: () => shell.close(),
  };
}
