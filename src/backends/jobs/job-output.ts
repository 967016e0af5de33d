// How a poll hands over a job's output: whole lines only, so a line is never
// split between two polls (a restart in between would otherwise leave half a
// line in the journal), and byte offsets that match what was handed over.

export interface OutputCut {
  text: string;
  /** Bytes of the chunk the text covers: add to the offset polled from. */
  bytes: number;
}

/**
 * What of `chunk` (read from a byte offset, at most `limit` bytes) to hand
 * over. `isFinal`: the job no longer writes, so a last line without a newline
 * is whole. A line longer than `limit` is handed over in pieces cut on a UTF-8
 * character boundary, or no poll could ever get past it.
 */
export function cutOutput(chunk: Uint8Array, limit: number, isFinal: boolean): OutputCut {
  const buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  const reachedEnd = buf.length < limit;
  let n: number;
  if (isFinal && reachedEnd) n = buf.length;
  else {
    const nl = buf.lastIndexOf(0x0a);
    if (nl >= 0) n = nl + 1;
    else if (!reachedEnd) n = utf8Boundary(buf);
    else n = 0;
  }
  return { text: buf.subarray(0, n).toString('utf8'), bytes: n };
}

/** The length of the longest prefix of `buf` that does not end inside a UTF-8 sequence. */
export function utf8Boundary(buf: Uint8Array): number {
  let i = buf.length;
  // Step back over continuation bytes (10xxxxxx) to the lead byte of the last character.
  let back = 0;
  while (back < 3 && i - back - 1 >= 0 && (buf[i - back - 1]! & 0xc0) === 0x80) back++;
  const leadAt = i - back - 1;
  if (leadAt < 0) return i;
  const lead = buf[leadAt]!;
  const need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
  return back + 1 >= need ? i : leadAt;
}
