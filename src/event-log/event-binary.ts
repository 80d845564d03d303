/**
 * @module The binary protobuf of the events every job run records, written
 * by code specific to their schema instead of protobuf-es's reflection
 * (which cost about 35 µs an event, more than the rest of recording it).
 * The bytes are exactly `toBinary(BuildEventSchema, event)`'s
 * (event-binary.test.ts checks it on random events): fields in field-number
 * order, implicit fields only when not zero, messages and explicit fields
 * when set, map entries with key and value, strings as UTF-8 through
 * protobuf-es's own text encoding. An event of another kind, or holding
 * anything this code does not write the same way (unknown fields, a value
 * out of its field's range), gets `undefined`: the caller uses toBinary.
 */
import { getTextEncoding } from "@bufbuild/protobuf/wire";
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import type {
  BuildEvent,
  DataDep,
  JobConfig,
  JobGraph,
  JobLabel,
  LogTruncation,
  ManifestRef,
  PartitionManifest,
  PartitionRef,
  Task,
} from "../gen/databuild_pb.ts";

const VARINT = 0;
const LENGTH_DELIMITED = 2;
const INT32_MIN = -0x80000000;
const INT32_MAX = 0x7fffffff;
const UINT32_MAX = 0xffffffff;
const UINT64_MAX = (1n << 64n) - 1n;
const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;

/** Thrown inside the writer when a value needs protobuf-es (caught by encodeEvent). */
class NeedsReflection extends Error {}
const NEEDS_REFLECTION = new NeedsReflection();

/** A growing buffer with protobuf's primitives; `fork`/`join` write a nested message's length before it. */
class Writer {
  buf = new Uint8Array(1024);
  pos = 0;

  reset(): void {
    this.pos = 0;
  }

  private ensure(bytes: number): void {
    if (this.pos + bytes <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + bytes) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }

  tag(field: number, wire: number): void {
    this.uint32((field << 3) | wire);
  }

  uint32(value: number): void {
    this.ensure(5);
    const buf = this.buf;
    while (value > 0x7f) {
      buf[this.pos++] = (value & 0x7f) | 0x80;
      value >>>= 7;
    }
    buf[this.pos++] = value;
  }

  /** int32 and enums: a negative value takes ten bytes (sign-extended to 64 bits). */
  int32(value: number): void {
    if (value >= 0) this.uint32(value);
    else this.uint64(BigInt.asUintN(64, BigInt(value)));
  }

  uint64(value: bigint): void {
    if (value <= 0xffffffffn) return this.uint32(Number(value));
    this.ensure(10);
    while (value > 0x7fn) {
      this.buf[this.pos++] = Number(value & 0x7fn) | 0x80;
      value >>= 7n;
    }
    this.buf[this.pos++] = Number(value);
  }

  string(value: string): void {
    const length = value.length;
    this.ensure(5 + length);
    // ASCII, the usual case (refs, ids, labels), byte by byte; anything else as protobuf-es encodes it.
    const start = this.pos;
    let p = start + (length < 0x80 ? 1 : length < 0x4000 ? 2 : 5);
    const buf = this.buf;
    for (let i = 0; i < length; i++) {
      const code = value.charCodeAt(i);
      if (code > 0x7f) return this.bytes(getTextEncoding().encodeUtf8(value));
      buf[p++] = code;
    }
    if (length < 0x80) buf[start] = length;
    else if (length < 0x4000) {
      buf[start] = (length & 0x7f) | 0x80;
      buf[start + 1] = length >>> 7;
    } else {
      // Rare: write the length, then move the text up against it.
      const text = buf.slice(start + 5, p);
      this.pos = start;
      this.uint32(length);
      this.ensure(length);
      this.buf.set(text, this.pos);
      this.pos += length;
      return;
    }
    this.pos = p;
  }

  bytes(value: Uint8Array): void {
    this.uint32(value.length);
    this.ensure(value.length);
    this.buf.set(value, this.pos);
    this.pos += value.length;
  }

  /** Starts a nested message: returns where its length goes (one byte kept for it). */
  fork(): number {
    this.ensure(1);
    return this.pos++;
  }

  /** Ends the nested message begun at `at`, writing its length there. */
  join(at: number): void {
    const length = this.pos - at - 1;
    if (length < 0x80) {
      this.buf[at] = length;
      return;
    }
    let extra = 0;
    for (let v = length >>> 7; v > 0; v >>>= 7) extra++;
    this.ensure(extra);
    this.buf.copyWithin(at + 1 + extra, at + 1, this.pos);
    this.pos += extra;
    let v = length;
    let p = at;
    while (v > 0x7f) {
      this.buf[p++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.buf[p] = v;
  }
}

// --- Checked field writers: implicit presence skips the zero value ---------

function plain(message: { $unknown?: unknown[] }): void {
  if (message.$unknown !== undefined && message.$unknown.length > 0) throw NEEDS_REFLECTION;
}

function stringField(w: Writer, field: number, value: string): void {
  if (typeof value !== "string") throw NEEDS_REFLECTION;
  if (value.length === 0) return;
  w.tag(field, LENGTH_DELIMITED);
  w.string(value);
}

function uint32Field(w: Writer, field: number, value: number): void {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > UINT32_MAX) throw NEEDS_REFLECTION;
  if (value === 0) return;
  w.tag(field, VARINT);
  w.uint32(value);
}

function int32Field(w: Writer, field: number, value: number): void {
  if (typeof value !== "number" || !Number.isInteger(value) || value < INT32_MIN || value > INT32_MAX)
    throw NEEDS_REFLECTION;
  if (value === 0) return;
  w.tag(field, VARINT);
  w.int32(value);
}

function uint64Field(w: Writer, field: number, value: bigint): void {
  if (typeof value !== "bigint" || value < 0n || value > UINT64_MAX) throw NEEDS_REFLECTION;
  if (value === 0n) return;
  w.tag(field, VARINT);
  w.uint64(value);
}

function boolField(w: Writer, field: number, value: boolean): void {
  if (typeof value !== "boolean") throw NEEDS_REFLECTION;
  if (!value) return;
  w.tag(field, VARINT);
  w.uint32(1);
}

function messageField<T>(w: Writer, field: number, value: T | undefined, write: (w: Writer, value: T) => void): void {
  if (value === undefined) return;
  w.tag(field, LENGTH_DELIMITED);
  const at = w.fork();
  write(w, value);
  w.join(at);
}

// --- Messages -----------------------------------------------------------------

function timestamp(w: Writer, ts: Timestamp): void {
  plain(ts);
  const seconds = ts.seconds;
  if (typeof seconds !== "bigint" || seconds < INT64_MIN || seconds > INT64_MAX) throw NEEDS_REFLECTION;
  if (seconds !== 0n) {
    w.tag(1, VARINT);
    w.uint64(BigInt.asUintN(64, seconds));
  }
  int32Field(w, 2, ts.nanos);
}

function partitionRef(w: Writer, ref: PartitionRef): void {
  plain(ref);
  stringField(w, 1, ref.str);
}

function dataDep(w: Writer, dep: DataDep): void {
  plain(dep);
  int32Field(w, 1, dep.depType);
  messageField(w, 2, dep.partitionRef, partitionRef);
}

function jobConfig(w: Writer, config: JobConfig): void {
  plain(config);
  for (const output of config.outputs) messageField(w, 1, output, partitionRef);
  for (const input of config.inputs) messageField(w, 2, input, dataDep);
  for (const arg of config.args) {
    if (typeof arg !== "string") throw NEEDS_REFLECTION;
    w.tag(3, LENGTH_DELIMITED);
    w.string(arg);
  }
  const env = config.env;
  for (const key of Object.keys(env)) {
    const value = env[key]!;
    if (typeof value !== "string") throw NEEDS_REFLECTION;
    w.tag(4, LENGTH_DELIMITED);
    const at = w.fork();
    w.tag(1, LENGTH_DELIMITED);
    w.string(key);
    w.tag(2, LENGTH_DELIMITED);
    w.string(value);
    w.join(at);
  }
}

function task(w: Writer, t: Task): void {
  plain(t);
  messageField(w, 1, t.job, jobLabel);
  messageField(w, 2, t.config, jobConfig);
}

function logTruncation(w: Writer, t: LogTruncation): void {
  plain(t);
  uint64Field(w, 1, t.limitBytes);
  uint64Field(w, 2, t.linesDropped);
  uint64Field(w, 3, t.bytesDropped);
}

function manifestRef(w: Writer, ref: ManifestRef): void {
  plain(ref);
  messageField(w, 1, ref.partitionRef, partitionRef);
  int32Field(w, 2, ref.depType);
  stringField(w, 3, ref.jobRunId);
  messageField(w, 4, ref.builtAt, timestamp);
}

function partitionManifest(w: Writer, m: PartitionManifest): void {
  plain(m);
  for (const output of m.outputs) messageField(w, 1, output, partitionRef);
  for (const input of m.inputs) messageField(w, 2, input, manifestRef);
  messageField(w, 3, m.startTime, timestamp);
  messageField(w, 4, m.endTime, timestamp);
  messageField(w, 5, m.task, task);
  stringField(w, 6, m.buildRequestId);
  stringField(w, 7, m.jobRunId);
  stringField(w, 8, m.jobVersion);
  stringField(w, 9, m.graphLabel);
}

function jobLabel(w: Writer, label: JobLabel): void {
  plain(label);
  stringField(w, 1, label.label);
}

function jobGraph(w: Writer, graph: JobGraph): void {
  plain(graph);
  stringField(w, 1, graph.label);
  for (const output of graph.outputs) messageField(w, 2, output, partitionRef);
  for (const node of graph.nodes) messageField(w, 3, node, task);
}

/** The payload kinds written here (those of every job run, and planning's: large ones, and one per wanted partition), by oneof field number. */
function payload(w: Writer, event: BuildEvent["event"]): boolean {
  switch (event.case) {
    case "buildRequestStatusChanged":
      messageField(w, 11, event.value, (w2, v) => {
        plain(v);
        int32Field(w2, 1, v.status);
        stringField(w2, 2, v.message);
      });
      return true;
    case "partitionsClaimed":
      messageField(w, 22, event.value, (w2, v) => {
        plain(v);
        for (const ref of v.partitions) messageField(w2, 1, ref, partitionRef);
      });
      return true;
    case "jobGraph":
      messageField(w, 33, event.value, (w2, v) => {
        plain(v);
        messageField(w2, 1, v.jobGraph, jobGraph);
      });
      return true;
    case "argValidateSuccess":
      messageField(w, 41, event.value, (w2, v) => {
        plain(v);
        messageField(w2, 1, v.job, jobLabel);
        for (const ref of v.partitionRefs) messageField(w2, 2, ref, partitionRef);
      });
      return true;
    case "configSuccess":
      messageField(w, 43, event.value, (w2, v) => {
        plain(v);
        messageField(w2, 1, v.job, jobLabel);
        for (const ref of v.partitionRefs) messageField(w2, 2, ref, partitionRef);
        uint32Field(w2, 3, v.configCount);
      });
      return true;
    case "partitionStatusChanged":
      messageField(w, 20, event.value, (w2, v) => {
        plain(v);
        messageField(w2, 1, v.partitionRef, partitionRef);
        int32Field(w2, 2, v.status);
        stringField(w2, 3, v.jobRunId);
        stringField(w2, 4, v.message);
      });
      return true;
    case "partitionDelegated":
      messageField(w, 21, event.value, (w2, v) => {
        plain(v);
        messageField(w2, 1, v.partitionRef, partitionRef);
        stringField(w2, 2, v.delegateBuildRequestId);
        stringField(w2, 3, v.delegateJobRunId);
        int32Field(w2, 4, v.reason);
      });
      return true;
    case "configValidateSuccess":
      messageField(w, 51, event.value, (w2, v) => {
        plain(v);
        messageField(w2, 1, v.task, task);
      });
      return true;
    case "taskLaunchSuccess":
      messageField(w, 53, event.value, (w2, v) => {
        plain(v);
        messageField(w2, 1, v.task, task);
        uint32Field(w2, 2, v.pid);
        stringField(w2, 3, v.hostname);
      });
      return true;
    case "jobHeartbeat":
      messageField(w, 54, event.value, (w2, v) => {
        plain(v);
        uint64Field(w2, 1, v.rssBytes);
      });
      return true;
    case "logEntry":
      messageField(w, 55, event.value, (w2, v) => {
        plain(v);
        int32Field(w2, 1, v.stream);
        uint64Field(w2, 2, v.sequence);
        stringField(w2, 3, v.line);
        boolField(w2, 4, v.continued);
        if (v.truncated !== undefined) {
          if (typeof v.truncated !== "boolean") throw NEEDS_REFLECTION;
          w2.tag(5, VARINT);
          w2.uint32(v.truncated ? 1 : 0);
        }
      });
      return true;
    case "taskSuccess":
      messageField(w, 57, event.value, (w2, v) => {
        plain(v);
        messageField(w2, 1, v.startTime, timestamp);
        messageField(w2, 2, v.endTime, timestamp);
        messageField(w2, 3, v.logTruncation, logTruncation);
      });
      return true;
    case "partitionManifest":
      messageField(w, 58, event.value, partitionManifest);
      return true;
    case "remainingJobs":
      messageField(w, 70, event.value, (w2, v) => {
        plain(v);
        uint32Field(w2, 1, v.ready);
        uint32Field(w2, 2, v.running);
        uint32Field(w2, 3, v.waiting);
      });
      return true;
    case "jobScheduleSuccess":
      messageField(w, 73, event.value, (w2, v) => {
        plain(v);
        messageField(w2, 1, v.task, task);
        uint32Field(w2, 2, v.attempt);
      });
      return true;
    case "buildHeartbeat":
      messageField(w, 76, event.value, (w2, v) => {
        plain(v);
        uint32Field(w2, 1, v.runningJobs);
      });
      return true;
    default:
      return false;
  }
}

const writer = new Writer();

/**
 * `toBinary(BuildEventSchema, event)` for an event of a job run's kinds;
 * undefined for any other (then use toBinary).
 */
export function encodeEvent(event: BuildEvent): Uint8Array | undefined {
  const w = writer;
  w.reset();
  try {
    plain(event);
    stringField(w, 1, event.eventId);
    messageField(w, 2, event.timestamp, timestamp);
    stringField(w, 3, event.buildRequestId);
    stringField(w, 4, event.jobRunId);
    if (!payload(w, event.event)) return undefined;
  } catch (error) {
    if (error === NEEDS_REFLECTION) return undefined;
    throw error;
  }
  return w.buf.slice(0, w.pos);
}
