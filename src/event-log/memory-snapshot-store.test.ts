import { describeSnapshotStoreContract } from "./snapshot-store-contract.ts";
import { MemorySnapshotStore } from "./memory-snapshot-store.ts";

describeSnapshotStoreContract("memory", async () => ({ store: new MemorySnapshotStore() }));
