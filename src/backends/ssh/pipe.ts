// One command's stdout relayed into another's stdin, each on its own exec
// channel (the two nodes need no trust between them: nightshift carries the
// bytes). Buffers all the way: the relayed bytes are never decoded, never
// kept, and neither capped nor timed like a command's output; a stream of a
// datadir runs for hours and only the idle timeout bounds it.

import { StringDecoder } from 'node:string_decoder';
import { OutputTail } from './output-tail.js';
import type { Client, ClientChannel } from 'ssh2';
import type { ExecResult, PipeOptions, PipeResult } from '../ports.js';
import { SshError } from './ssh-error.js';

/** One end, its channel open and its command started. */
export interface OpenEnd {
  /** `from` or `to`, for messages and onStderr. */
  end: 'from' | 'to';
  nodeName: string;
  command: string;
  label: string;
  client: Client;
  channel: ClientChannel;
}

/** onProgress at most this often: a progress bar needs no more, and the caller may journal it. */
export const PROGRESS_INTERVAL_MS = 250;

interface EndState {
  exit?: { code: number | null; signal: string | null };
  closed: boolean;
  stdout: OutputTail;
  stderr: OutputTail;
}

/**
 * Relays until both ends have ended, or closes both (abort, idle timeout, a
 * dropped connection) and rejects. A receiver that ends first closes the
 * sender's channel: sshd then closes the sender's stdout, so it sees EPIPE
 * (or SIGPIPE) on its next write, and its exit status still comes back.
 */
export function relay(from: OpenEnd, to: OpenEnd, opts: PipeOptions, maxOutput: number): Promise<PipeResult> {
  return new Promise<PipeResult>((resolve, reject) => {
    const signal = opts.signal;
    const state: Record<'from' | 'to', EndState> = {
      from: { closed: false, stdout: new OutputTail(maxOutput), stderr: new OutputTail(maxOutput) },
      to: { closed: false, stdout: new OutputTail(maxOutput), stderr: new OutputTail(maxOutput) },
    };
    let bytes = 0;
    let reported = -1;
    let lastReport = 0;
    let done = false;
    let idleTimer: NodeJS.Timeout | undefined;
    /** We closed the sender's channel because the receiver had ended. */
    let receiverGone = false;

    const report = (force: boolean) => {
      if (!opts.onProgress || bytes === reported) return;
      const now = Date.now();
      if (!force && now - lastReport < PROGRESS_INTERVAL_MS) return;
      lastReport = now;
      reported = bytes;
      opts.onProgress(bytes);
    };

    const closeBoth = (why: 'TERM' | undefined) => {
      for (const e of [from, to]) {
        if (state[e.end].closed) continue;
        if (why) {
          try {
            // Ask the process to stop first; closing alone leaves one that never writes again running.
            e.channel.signal(why);
          } catch {
            /* the channel may already be gone */
          }
        }
        e.channel.close();
      }
    };

    const cleanup = () => {
      if (idleTimer) clearTimeout(idleTimer);
      signal?.removeEventListener('abort', onAbort);
      from.client.removeListener('close', onFromClientClose);
      to.client.removeListener('close', onToClientClose);
    };

    const fail = (error: Error, why: 'TERM' | undefined) => {
      if (done) return;
      done = true;
      cleanup();
      from.channel.unpipe(to.channel);
      closeBoth(why);
      // Whatever still arrives is dropped, so ssh2 can finish closing the channels.
      from.channel.resume();
      reject(error);
    };

    const settleIfDone = () => {
      if (done || !state.from.closed || !state.to.closed) return;
      done = true;
      cleanup();
      report(true);
      const result = (e: OpenEnd, keepStdout: boolean): ExecResult => ({
        code: state[e.end].exit?.code ?? null,
        signal: state[e.end].exit?.signal ?? null,
        stdout: keepStdout ? state[e.end].stdout.text() : '',
        stderr: state[e.end].stderr.text(),
      });
      resolve({ from: result(from, false), to: result(to, true), bytes });
    };

    const onAbort = () => {
      const reason = signal?.reason;
      const why = reason instanceof Error ? reason.message : String(reason ?? 'aborted');
      fail(
        new SshError('aborted', from.label, `the pipe from ${from.nodeName} to ${to.nodeName} was cancelled (${why}) after ${bytes} bytes; both channels were closed`, {
          cause: reason,
        }),
        'TERM',
      );
    };
    const dropped = (e: OpenEnd) => () =>
      fail(
        new SshError(
          'disconnected',
          e.label,
          `${e.nodeName}: the ssh connection dropped after ${bytes} bytes of the pipe from ${from.nodeName} to ${to.nodeName} ("${firstWords(e.command)}"); ` +
            'both ends were closed, a remote process may still run until it next writes',
        ),
        'TERM',
      );
    const onFromClientClose = dropped(from);
    const onToClientClose = dropped(to);

    if (signal?.aborted) {
      onAbort();
      return;
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    from.client.once('close', onFromClientClose);
    to.client.once('close', onToClientClose);

    const idleMs = opts.idleTimeoutMs;
    if (idleMs !== undefined && Number.isFinite(idleMs)) {
      idleTimer = setTimeout(() => {
        fail(
          new SshError(
            'timeout',
            from.label,
            `the pipe from ${from.nodeName} to ${to.nodeName} relayed no byte for ${idleMs} ms (after ${bytes} bytes): ` +
              `"${firstWords(from.command)}" looks hung; both channels were closed`,
          ),
          'TERM',
        );
      }, idleMs);
    }

    for (const e of [from, to]) {
      const s = state[e.end];
      const errDecoder = new StringDecoder('utf8');
      e.channel.stderr.on('data', (chunk: Buffer) => {
        const text = errDecoder.write(chunk);
        if (!text) return;
        s.stderr.push(text);
        opts.onStderr?.(e.end, text);
      });
      e.channel.on('exit', (code: number | null, sig?: string) => {
        s.exit = { code: typeof code === 'number' ? code : null, signal: sig ?? null };
      });
      // Writing into a channel the receiver already closed: its close (below) says what happened.
      e.channel.on('error', () => undefined);
    }

    // The sender reads nothing: EOF on its stdin at once.
    from.channel.end();
    from.channel.on('data', (chunk: Buffer) => {
      if (receiverGone) return;
      bytes += chunk.length;
      idleTimer?.refresh();
      report(false);
    });
    // Backpressure both ways: a slow receiver stops our reads, and ssh2's
    // window then stops the sender's sshd. The receiver's stdin ends when the sender's stdout does.
    from.channel.pipe(to.channel);

    const outDecoder = new StringDecoder('utf8');
    to.channel.on('data', (chunk: Buffer) => state.to.stdout.push(outDecoder.write(chunk)));

    from.channel.on('close', () => {
      state.from.closed = true;
      if (!state.from.exit && !done && !receiverGone) {
        fail(
          new SshError('disconnected', from.label, `${from.nodeName}: "${firstWords(from.command)}" ended without an exit status after ${bytes} bytes (channel closed by ${from.label})`),
          'TERM',
        );
        return;
      }
      settleIfDone();
    });
    to.channel.on('close', () => {
      state.to.closed = true;
      if (!state.to.exit && !done) {
        fail(
          new SshError('disconnected', to.label, `${to.nodeName}: "${firstWords(to.command)}" ended without an exit status after ${bytes} bytes (channel closed by ${to.label})`),
          'TERM',
        );
        return;
      }
      if (!state.from.closed) {
        // The receiver is gone while the sender still runs: nothing more can be
        // delivered. Closing the sender's channel gives it EPIPE on its next write.
        receiverGone = true;
        from.channel.unpipe(to.channel);
        // Drained and dropped: ssh2 reports the channel closed only once its output has been read.
        from.channel.resume();
        from.channel.close();
      }
      settleIfDone();
    });
  });
}


export function firstWords(command: string): string {
  return command.length > 60 ? `${command.slice(0, 57)}...` : command;
}
