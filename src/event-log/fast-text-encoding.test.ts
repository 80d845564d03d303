import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { LogEntrySchema, LogStream } from "../gen/databuild_pb.ts";
import { installFastTextEncoding } from "./fast-text-encoding.ts";

describe("fast text encoding", () => {
  installFastTextEncoding();
  it.each(["clean/date=2024-05-01", "", "café/crème ☕", "x".repeat(500), "emoji 😀 pair", "ü".repeat(100)])(
    "round-trips %j exactly as UTF-8",
    (line) => {
      const entry = {
        $typeName: "databuild.v1.LogEntry",
        stream: LogStream.STDOUT,
        sequence: 1n,
        line,
        continued: false,
      } as const;
      const bytes = toBinary(LogEntrySchema, entry);
      expect(fromBinary(LogEntrySchema, bytes).line).toBe(line);
      expect(Buffer.from(bytes).includes(Buffer.from(line, "utf8"))).toBe(true);
    },
  );
});
