import type * as vscode from "vscode";
import type { Target } from "../../core/targets/target";
import type { TargetHandle, TargetService } from "../targets";

/**
 * Connections the Datapath view keeps open between refreshes (one SSH connection per target, not one per timer
 * tick). A failed command drops the connection, so the next use opens a fresh one.
 */
export class DatapathConnections implements vscode.Disposable {
	private readonly open = new Map<string, Promise<TargetHandle>>();

	constructor(private readonly targets: TargetService) {}

	async use<T>(spec: string, work: (target: Target) => Promise<T>, signal?: AbortSignal): Promise<T> {
		let handle = this.open.get(spec);
		if (!handle) {
			handle = this.targets.open(spec, signal);
			this.open.set(spec, handle);
			// A connection that failed to open is forgotten at once; the caller sees the error.
			handle.catch(() => { if (this.open.get(spec) === handle) this.open.delete(spec); });
		}
		const opened = await handle;
		try {
			return await work(opened.target);
		} catch (error) {
			if (this.open.get(spec) === handle) {
				this.open.delete(spec);
				void opened.release();
			}
			throw error;
		}
	}

	/** Closes every connection (the view was hidden); the next refresh reconnects. */
	releaseAll(): void {
		const handles = [...this.open.values()];
		this.open.clear();
		for (const handle of handles) void handle.then((h) => h.release(), () => undefined);
	}

	dispose(): void {
		this.releaseAll();
	}
}
