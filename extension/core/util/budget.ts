import { KnnError, codedError } from "./errors";

/**
 * The memory budget of one run of the tools: every tensor materialised from model-derived sizes (constants, the
 * interpreter's outputs and index tables, folded values, the compiled arena) is checked against it before it is
 * allocated, so a tiny hostile file fails with a sentence instead of taking the machine's memory. Each tensor
 * must fit on its own; what stays alive for the whole run (folded values, the arena and weights) must fit in total.
 */
export const DEFAULT_MEMORY_LIMIT = 512 * 2 ** 20;

/** A tensor or a total over the memory budget; the message names it, its size, the limit and how to raise it. */
export class BudgetError extends codedError("budget", "BudgetError") {
	/** The same error said of `where` (a node), unless it already names a place. */
	at(where: string): BudgetError {
		if (this.message.startsWith(where) || this.message.startsWith("node ")) return this;
		return new BudgetError(`${where}: ${this.message}`, { cause: this });
	}
}

/** A size that is not a count: a negative, fractional, NaN or infinite dimension. */
export class TensorSizeError extends codedError("graph", "TensorSizeError") {}

/** A limit the whole process works under, set by a flag and scoped by callers that share a process. */
class Limit {
	constructor(public value: number, private readonly what: string) {}

	set(value: number): void {
		if (!Number.isFinite(value) || value <= 0) throw new KnnError(`the ${this.what} must be a positive number, not ${value}`, "usage");
		this.value = value;
	}

	/** Runs fn under another limit and restores the previous one, for callers that share a process (tests, the editor). */
	with<T>(value: number, fn: () => T): T {
		const previous = this.value;
		this.set(value);
		try {
			return fn();
		} finally {
			this.value = previous;
		}
	}
}

const memory = new Limit(DEFAULT_MEMORY_LIMIT, "memory budget (bytes)");

/** The current limit in bytes. */
export function memoryLimit(): number {
	return memory.value;
}

/** Sets the limit for everything that follows (the CLI's --max-memory, the editor's validation worker). */
export function setMemoryLimit(bytes: number): void {
	memory.set(bytes);
}

/** Runs fn under another limit and restores the previous one. */
export function withMemoryLimit<T>(bytes: number, fn: () => T): T {
	return memory.with(bytes, fn);
}

const UNITS: Record<string, number> = { "": 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 };

/** "512M", "2G", "1.5GiB", "800MB" or plain bytes; the units are binary (1M = 1,048,576 bytes). */
export function parseMemorySize(text: string, flag = "--max-memory"): number {
	const match = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$/i.exec(text);
	const bytes = match ? Math.round(Number(match[1]) * UNITS[match[2].toLowerCase()]) : NaN;
	if (!Number.isFinite(bytes) || bytes <= 0) {
		throw new KnnError(`${flag} must be a size such as 512M, 2G or 1.5G (binary units), not "${text}"`, "usage");
	}
	return bytes;
}

/** 4294967296 -> "4.0 GiB". */
export function formatBytes(bytes: number): string {
	if (bytes < 2 ** 10) return `${bytes} bytes`;
	const [unit, size] = bytes >= 2 ** 40 ? ["TiB", 2 ** 40] : bytes >= 2 ** 30 ? ["GiB", 2 ** 30] : bytes >= 2 ** 20 ? ["MiB", 2 ** 20] : ["KiB", 2 ** 10];
	const value = bytes / size;
	return `${value >= 1e4 ? value.toExponential(2) : value.toFixed(1)} ${unit}`;
}

/** 1234567 -> "1,234,567", without the runtime's locale data. */
function groupDigits(n: number): string {
	if (!Number.isFinite(n)) return "more than 2^53";
	return Number.isSafeInteger(n) ? String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ",") : n.toExponential(3);
}

/** The --max-memory value that would let `bytes` through, rounded up to whole MiB or GiB. */
function suggestion(bytes: number): string {
	if (!Number.isFinite(bytes) || bytes > 2 ** 50) return "";
	const wanted = bytes * 1.25;
	const text = wanted >= 2 ** 30 ? `${Math.ceil(wanted / 2 ** 30)}G` : `${Math.ceil(wanted / 2 ** 20)}M`;
	return ` (e.g. --max-memory ${text})`;
}

function overMessage(what: string, bytes: number, detail: string): string {
	const needs = Number.isFinite(bytes) && bytes < 2 ** 60 ? formatBytes(bytes) : "more bytes than any machine has";
	return `${what} needs ${needs}${detail}, more than the memory budget of ${formatBytes(memory.value)}; ` +
		`if the model really needs that much, raise the budget with --max-memory${suggestion(bytes)}`;
}

/**
 * Checks that `elements` is a count a tensor can have and that `elements * bytesPerElement` fits the budget.
 * `describe` names the tensor ("a float32 tensor of shape [1000000000]"); `where` the node or field, if known.
 */
export function checkElements(elements: number, bytesPerElement: number, describe: string, where?: string): void {
	const prefix = where ? `${where}: ` : "";
	if (Number.isNaN(elements) || elements < 0 || (Number.isFinite(elements) && !Number.isInteger(elements))) {
		const why = Number.isNaN(elements) ? "a dimension that is not a number" : elements < 0 ? "a negative dimension" : "a fractional dimension";
		throw new TensorSizeError(`${prefix}${describe} cannot be allocated: it has ${why}; check the shape the model gives it`);
	}
	const bytes = elements * bytesPerElement;
	if (bytes > memory.value || !Number.isSafeInteger(elements)) {
		throw new BudgetError(`${prefix}${overMessage(describe, bytes, ` (${groupDigits(elements)} elements)`)}`);
	}
}

/** Checks a total that stays allocated for the run (folded constants, the compiled arena and weights). */
export function checkTotal(bytes: number, what: string): void {
	if (bytes > memory.value) throw new BudgetError(overMessage(what, bytes, " in total"));
}

/**
 * The work budget of one evaluation (a `knn run` over all its steps, one config check, one compile's folding, one
 * calibration pass): the interpreter counts what it does and stops with a sentence when the count passes the
 * limit, so a small file that asks for a long run ends within seconds, as one that asks for a large tensor does.
 * A node run counts NODE_RUN_COST; a kernel counts every element it reads (1) and writes (2: it allocates them too)
 * and every multiply-add or window tap it will make (counted before it starts, so one huge MatMul is refused rather than begun).
 */
export const DEFAULT_WORK_LIMIT = 400_000_000;

/** What one node run costs beyond its elements: the interpreter's own bookkeeping, about 200 element operations. */
export const NODE_RUN_COST = 200;

/** A node run in a graph with TF1 control flow, whose frames and deadness cost the interpreter three times more. */
export const DATAFLOW_NODE_RUN_COST = 600;

/** An evaluation that passed the work budget; the message names where, the limit and how to raise it. */
export class WorkBudgetError extends BudgetError {
	override name = "WorkBudgetError";
}

const work = new Limit(DEFAULT_WORK_LIMIT, "work budget (operations)");

export function workLimit(): number {
	return work.value;
}

/** Sets the work budget for everything that follows (the CLI's --max-work). */
export function setWorkLimit(operations: number): void {
	work.set(operations);
}

/** Runs fn under another work budget and restores the previous one. */
export function withWorkLimit<T>(operations: number, fn: () => T): T {
	return work.with(operations, fn);
}

const DECIMAL_UNITS: Record<string, number> = { "": 1, k: 1e3, m: 1e6, g: 1e9, t: 1e12 };

/** "400M", "2G", "1.5e9" or a plain count (decimal units: 1G = 1,000,000,000 operations). */
export function parseWorkSize(text: string, flag = "--max-work"): number {
	const match = /^\s*(\d+(?:\.\d+)?(?:e\d+)?)\s*([kmgt]?)\s*$/i.exec(text);
	const operations = match ? Math.round(Number(match[1]) * DECIMAL_UNITS[match[2].toLowerCase()]) : NaN;
	if (!Number.isFinite(operations) || operations <= 0) {
		throw new KnnError(`${flag} must be a count of operations such as 400M, 2G or 1.5e9 (decimal units), not "${text}"`, "usage");
	}
	return operations;
}

/** 400000000 -> "400,000,000"; larger counts in exponent form. */
export function formatOperations(operations: number): string {
	return operations < 1e13 ? groupDigits(Math.round(operations)) : operations.toExponential(2);
}

/** The --max-work value that would let `operations` through, with room. */
function workSuggestion(operations: number): string {
	const wanted = Math.max(operations * 1.25, work.value * 4);
	if (!Number.isFinite(wanted) || wanted > 1e15) return "";
	const exponent = Math.floor(Math.log10(wanted));
	return ` (e.g. --max-work ${Math.ceil(wanted / 10 ** exponent)}e${exponent})`;
}

const WORK_UNITS = `each node run counts ${NODE_RUN_COST} (${DATAFLOW_NODE_RUN_COST} in a graph with while loops or tf.cond), ` +
	"each element a kernel reads 1 and writes 2, each multiply-add or window tap 1";

/** The sentence for a count over the limit; `needs` is what was asked for when it is known in advance. */
export function overWorkMessage(what: string, needs?: number): string {
	const asked = needs === undefined ? "passed" : `needs at least ${formatOperations(needs)} operations, more than`;
	return `${what} ${asked} the work budget of ${formatOperations(work.value)} operations (${WORK_UNITS}); ` +
		`if the model really needs that much, raise it with --max-work${workSuggestion(needs ?? work.value)}, or ask for fewer steps`;
}

/** The count of one evaluation, shared by everything it runs (every step of a run, every branch of a check). */
export class WorkMeter {
	done = 0;
	constructor(readonly limit: number) {}

	/** Adds `operations`; over the limit, throws naming `where()` (only built when it is needed). */
	charge(operations: number, where: () => string): void {
		this.done += operations;
		if (this.done > this.limit) throw new WorkBudgetError(`${where()}: ${overWorkMessage("the evaluation")}`);
	}

	/** What is left before the limit. */
	get left(): number {
		return Math.max(0, this.limit - this.done);
	}
}

let activeMeter: WorkMeter | undefined;

/**
 * Runs fn with the evaluation's work meter: the one already counting when this is called inside an evaluation
 * (a step of a run, a branch of a check), or a fresh one under the current limit.
 */
export function withWorkMeter<T>(fn: (meter: WorkMeter) => T): T {
	if (activeMeter) return fn(activeMeter);
	const meter = new WorkMeter(work.value);
	activeMeter = meter;
	try {
		return fn(meter);
	} finally {
		activeMeter = undefined;
	}
}
