/**
 * @module The spawner's output framing: a 9-byte header (kind u8, job id u32 LE, payload length u32 LE), then the payload.
 */

/** Frame kinds, as numbered in spawner.py and spawner.mjs. */
export const FrameKind = { Ready: 0, Spawned: 1, SpawnError: 2, Stdout: 3, Stderr: 4, Exit: 5, Closed: 6 } as const;
export type FrameKind = (typeof FrameKind)[keyof typeof FrameKind];

const HEADER_BYTES = 9;

export type FrameSink = (kind: FrameKind, id: number, payload: Buffer) => void;

/** Reassembles frames from the spawner's stdout chunks; payloads are views into the chunks, never copied twice. */
export class FrameDecoder {
  private pending: Buffer | undefined;

  constructor(private readonly sink: FrameSink) {}

  push(chunk: Buffer): void {
    let buffer = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = undefined;
    let offset = 0;
    while (buffer.length - offset >= HEADER_BYTES) {
      const length = buffer.readUInt32LE(offset + 5);
      const end = offset + HEADER_BYTES + length;
      if (end > buffer.length) break;
      this.sink(
        buffer[offset] as FrameKind,
        buffer.readUInt32LE(offset + 1),
        buffer.subarray(offset + HEADER_BYTES, end),
      );
      offset = end;
    }
    if (offset < buffer.length) {
      buffer = buffer.subarray(offset);
      this.pending = buffer;
    }
  }
}
