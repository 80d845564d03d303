/**
 * @module Decides, without modifying anything, whether the file at an event
 * log path may be opened for writing: absent or empty, an empty SQLite
 * database, or a readable databuild event log of a schema version this code
 * knows. Everything else is refused with an EventLogFileError (or an
 * EventLogStorageError when this user may not read it). Opening read-only
 * uses the same checks, in two steps: the header, then an open connection.
 */
import { closeSync, openSync, readSync, statSync } from "node:fs";
import Database from "better-sqlite3";
import { EventLogFileError, EventLogStorageError } from "../event-log-error.ts";
import { fromPayload } from "../event-row.ts";
import { storedPayload } from "./sqlite-row.ts";
import { APPLICATION_ID, SCHEMA_VERSION } from "./schema.ts";
import { asFileError, storageProblemOfErrno, thisUser } from "./sqlite-errors.ts";

/** What opening may do: create the schema, or migrate from `version` (0 = empty). */
export interface Inspection {
  readonly version: number;
}

/** The database facts that decide whether it is ours. */
export interface LogFacts {
  readonly applicationId: number;
  readonly userVersion: number;
  /** Its tables, indexes, views and triggers; undefined when known to be non-empty but unlisted. */
  readonly schema: readonly { readonly type: string; readonly name: string }[] | undefined;
}

const SQLITE_MAGIC = Buffer.from("SQLite format 3\0", "latin1");
/** The database header (100 bytes) plus the b-tree header of page 1, which holds sqlite_schema. */
const HEADER_BYTES = 108;

/**
 * Inspects `path` (absolute). Reads the header with plain file I/O first, so a
 * non-SQLite file never reaches SQLite; then, where that alone cannot decide,
 * opens it read-only. Throws EventLogFileError when the file must not be used.
 */
export function inspectLogFile(path: string): Inspection {
  return inspectHeader(path) ?? inspectWithSqlite(path);
}

/**
 * The part of the inspection that needs no SQLite: refuses what the header
 * alone can refuse, and returns the inspection when the header alone decides
 * it (an absent or empty file, an empty database), else undefined (SQLite
 * must look: `inspectConnection`).
 */
export function inspectHeader(path: string): Inspection | undefined {
  const header = readHeader(path);
  if (header === undefined) return { version: 0 };
  const walPresent = fileSize(`${path}-wal`) > 0;
  // Without a -wal file the main file is the whole database, so its header is
  // current. (The header was read first: a checkpoint in flight then has a -wal.)
  if (!walPresent) {
    if (header.truncatedTo !== undefined) {
      throw new EventLogFileError(path, "corrupt", header.truncatedTo);
    }
    // Opening a WAL-mode database, even read-only, creates -wal and -shm
    // files beside it, so refuse what the header alone can refuse (another
    // application's WAL database, a newer schema) before SQLite sees it.
    if (header.walMode || header.facts.applicationId === APPLICATION_ID) {
      const inspection = decide(path, header.facts);
      if (inspection.version === 0) return inspection;
    }
  }
  return undefined;
}

/** The checks that need SQLite, on an open connection: whose database it is, its version, its newest event. */
export function inspectConnection(path: string, db: Database.Database): Inspection {
  const inspection = decide(path, readFacts(db));
  if (inspection.version > 0) checkLastEvent(path, db, inspection.version);
  return inspection;
}

/**
 * Accepts `facts` (returns the version to migrate from) or throws: foreign
 * databases, newer schema versions. Shared by the read-only inspection and by
 * the check repeated inside the migrating transaction.
 */
export function decide(path: string, facts: LogFacts): Inspection {
  const { applicationId, userVersion, schema } = facts;
  if (applicationId === APPLICATION_ID) {
    if (userVersion > SCHEMA_VERSION) {
      throw new EventLogFileError(
        path,
        "newer-schema",
        `its schema version is ${userVersion} and this databuild reads up to version ${SCHEMA_VERSION}`,
      );
    }
    return { version: userVersion };
  }
  if (applicationId !== 0) {
    const id = `0x${(applicationId >>> 0).toString(16).padStart(8, "0")}`;
    throw new EventLogFileError(
      path,
      "foreign",
      `it is an SQLite database of another application (application_id ${id})`,
    );
  }
  if (userVersion === 0 && schema?.length === 0) return { version: 0 };
  const tables = schema?.filter((o) => o.type === "table").map((o) => o.name) ?? [];
  const listed = tables.length ? ` (${tables.slice(0, 5).join(", ")}${tables.length > 5 ? ", ..." : ""})` : "";
  throw new EventLogFileError(
    path,
    "foreign",
    `it is an SQLite database with its own tables${listed} and no databuild application_id`,
  );
}

/** Reads the facts through an open connection. */
export function readFacts(db: Database.Database): LogFacts {
  return {
    applicationId: db.pragma("application_id", { simple: true }) as number,
    userVersion: db.pragma("user_version", { simple: true }) as number,
    schema: db.prepare("SELECT type, name FROM sqlite_schema ORDER BY rowid").all() as { type: string; name: string }[],
  };
}

function inspectWithSqlite(path: string): Inspection {
  let db: Database.Database | undefined;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
    return inspectConnection(path, db);
  } catch (error) {
    throw asFileError(path, error);
  } finally {
    db?.close();
  }
}

/**
 * Reads and decodes the newest event: cheap (one root-to-leaf path), and it
 * catches the usual damage, a truncated or overwritten tail. A full check is
 * `PRAGMA integrity_check`, too slow to run on every open.
 */
function checkLastEvent(path: string, db: Database.Database, version: number): void {
  // From version 3 on a row has a kind column; from 4 on it marks a deflated payload (a large log entry, say).
  const kind = version >= 3 ? "kind" : "NULL";
  const row = db.prepare(`SELECT "offset", payload, ${kind} FROM events ORDER BY "offset" DESC LIMIT 1`).raw().get() as
    [number, Buffer, number | null] | undefined;
  if (!row) return;
  try {
    fromPayload(storedPayload(row[1], row[2]));
  } catch (error) {
    throw new EventLogFileError(path, "corrupt", `the event at offset ${row[0]} does not decode`, { cause: error });
  }
}

interface Header {
  readonly facts: LogFacts;
  readonly walMode: boolean;
  /** Set when the file is shorter than its header says: what was expected and found. */
  readonly truncatedTo: string | undefined;
}

/** The parsed SQLite header, or undefined for an absent or empty file. Throws for non-SQLite content. */
function readHeader(path: string): Header | undefined {
  let size: number;
  const bytes = Buffer.alloc(HEADER_BYTES);
  let got = 0;
  try {
    const stat = statSync(path, { throwIfNoEntry: false });
    if (stat === undefined) return undefined;
    if (!stat.isFile()) throw new EventLogFileError(path, "unreadable", "it is not a regular file");
    size = stat.size;
    if (size === 0) return undefined;
    const fd = openSync(path, "r");
    try {
      got = readSync(fd, bytes, 0, HEADER_BYTES, 0);
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    if (error instanceof EventLogFileError) throw error;
    const storage = storageProblemOfErrno(error);
    if (storage === "permission-denied" || storage === "io-error") {
      const detail = storage === "io-error" ? (error as Error).message : `${thisUser()} may not read it or its folder`;
      throw new EventLogStorageError(path, storage, "open", detail, { cause: error });
    }
    throw new EventLogFileError(path, "unreadable", (error as Error).message, { cause: error });
  }
  if (got < HEADER_BYTES || !bytes.subarray(0, SQLITE_MAGIC.length).equals(SQLITE_MAGIC)) {
    throw new EventLogFileError(
      path,
      "not-sqlite",
      `it is not an SQLite database (${describeContent(bytes.subarray(0, got), size)})`,
    );
  }
  const rawPageSize = bytes.readUInt16BE(16);
  const pageSize = rawPageSize === 1 ? 65536 : rawPageSize;
  if (pageSize < 512 || (pageSize & (pageSize - 1)) !== 0) {
    throw new EventLogFileError(path, "corrupt", `its header has an invalid page size (${rawPageSize})`);
  }
  // The header's page count is only trustworthy when the change counter matches "version-valid-for".
  const pageCount = bytes.readUInt32BE(24) === bytes.readUInt32BE(92) ? bytes.readUInt32BE(28) : 0;
  const expected = pageCount * pageSize;
  const pageType = bytes[100];
  const cellCount = bytes.readUInt16BE(103);
  return {
    facts: {
      applicationId: bytes.readInt32BE(68),
      userVersion: bytes.readInt32BE(60),
      schema: pageType === 0x0d && cellCount === 0 ? [] : undefined,
    },
    walMode: bytes[18] === 2,
    truncatedTo:
      expected > size ? `the file has ${size} bytes but its header says ${pageCount} pages of ${pageSize}` : undefined,
  };
}

/** "it starts with the text ..." or "N bytes not starting with ...", for the error message. */
function describeContent(start: Buffer, size: number): string {
  const text = start.toString("utf8");
  if (!/[\u0000-\u0008\u000e-\u001f\ufffd]/.test(text)) {
    return `it starts with the text ${JSON.stringify(text.slice(0, 40))}`;
  }
  return `${size} bytes not starting with "SQLite format 3"`;
}

function fileSize(path: string): number {
  return statSync(path, { throwIfNoEntry: false })?.size ?? 0;
}
