/**
 * @module Read-model snapshots held in memory, beside MemoryEventLog. States
 * are copied (structured clone, as the SQLite store's serialization does) on
 * the way in and out, so no model shares objects with a snapshot.
 */
import type { ReadModelSnapshot, SnapshotStore } from "../core/read-model.ts";

export class MemorySnapshotStore implements SnapshotStore {
  private readonly snapshots = new Map<string, ReadModelSnapshot>();

  async load(name: string): Promise<{ snapshot?: ReadModelSnapshot }> {
    const kept = this.snapshots.get(name);
    return kept ? { snapshot: { ...kept, state: structuredClone(kept.state) } } : {};
  }

  async save(snapshot: ReadModelSnapshot): Promise<void> {
    const kept = this.snapshots.get(snapshot.name);
    if (kept && kept.version === snapshot.version && kept.offset >= snapshot.offset) return;
    this.snapshots.set(snapshot.name, { ...snapshot, state: structuredClone(snapshot.state) });
  }

  async clear(): Promise<void> {
    this.snapshots.clear();
  }
}
