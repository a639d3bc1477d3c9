import * as path from "node:path";
import { Worker } from "node:worker_threads";
import type { ConfigProblem } from "../core/frontends/tf/tf2xlaConfig";
import { memoryLimit, workLimit } from "../core/util/budget";
import { KnnError, type KnnErrorCode } from "../core/util/errors";
import type { ConfigCheckRequest, ConfigCheckResponse } from "./configCheckProtocol";

/** How long one check may run before its thread is stopped; typing never waits for it either way. */
export const CONFIG_CHECK_TIMEOUT_MS = 10_000;

interface Waiting {
	resolve: (problems: ConfigProblem[]) => void;
	reject: (error: Error) => void;
	timer: NodeJS.Timeout;
}

/**
 * Runs config checks (load, freeze, shape inference) in a worker thread beside the extension host. A check that
 * overruns its time stops the thread, and the next check starts a fresh one.
 */
export class ConfigCheckWorker {
	private worker?: Worker;
	private nextId = 1;
	private readonly waiting = new Map<number, Waiting>();

	constructor(
		private readonly script = path.join(__dirname, "configCheckWorker.js"),
		private readonly timeoutMs = CONFIG_CHECK_TIMEOUT_MS,
	) {}

	/** The problems of `text` (the config at configPath) against the model file at modelPath. */
	check(modelPath: string, configPath: string, text: string): Promise<ConfigProblem[]> {
		const worker = this.start();
		const request: ConfigCheckRequest = { id: this.nextId++, modelPath, configPath, text, maxMemory: memoryLimit(), maxWork: workLimit() };
		return new Promise<ConfigProblem[]>((resolve, reject) => {
			const timer = setTimeout(() => {
				this.stop(new KnnError(`checking ${path.basename(configPath)} against ${modelPath} took longer than ${this.timeoutMs / 1000} s and was stopped; run knn config --check in a terminal to see how long the model takes`, "timeout"));
			}, this.timeoutMs);
			this.waiting.set(request.id, { resolve, reject, timer });
			worker.postMessage(request);
		});
	}

	dispose(): void {
		this.stop(new KnnError("the config check was cancelled: the extension is shutting down", "cancelled"));
	}

	private start(): Worker {
		if (this.worker) return this.worker;
		const worker = new Worker(this.script);
		worker.unref();
		worker.on("message", (response: ConfigCheckResponse) => {
			const waiting = this.waiting.get(response.id);
			if (!waiting) return;
			this.waiting.delete(response.id);
			clearTimeout(waiting.timer);
			if (response.ok) waiting.resolve(response.problems);
			else waiting.reject(new KnnError(response.message, (response.code as KnnErrorCode | undefined) ?? "model"));
		});
		worker.on("error", (error) => this.stop(new KnnError(`the config check's thread failed: ${error.message}`, "execution")));
		worker.on("exit", () => {
			if (this.worker === worker) this.stop(new KnnError("the config check's thread stopped unexpectedly; edit the config to check it again", "execution"));
		});
		this.worker = worker;
		return worker;
	}

	private stop(reason: Error): void {
		const worker = this.worker;
		this.worker = undefined;
		void worker?.terminate();
		for (const waiting of this.waiting.values()) {
			clearTimeout(waiting.timer);
			waiting.reject(reason);
		}
		this.waiting.clear();
	}
}
