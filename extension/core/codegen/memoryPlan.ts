import { dtypeByteSize } from "../graph/tensor";
import { checkTotal, formatBytes } from "../util/budget";
import { type Buffer, type Program, type Step, storageOf } from "./program";

/** Where each arena buffer lives; weights are static data and have no offset. */
export interface MemoryPlan {
	offsets: Map<Buffer, number>;
	arenaBytes: number;
	argumentBytes: number;
	resultBytes: number;
	stateBytes: number;
	/** Peak of the temporaries after reuse, and what they would take without reuse. */
	tempBytes: number;
	tempBytesUnshared: number;
}

// SSE loads need 16; a cache line keeps arguments of different callers apart.
const ALIGN = 16;

export function bufferBytes(buffer: Buffer): number {
	return buffer.size * Math.max(1, dtypeByteSize(buffer.dtype));
}

// Step positions per block of the placement index.
const BLOCK = 64;

interface Placed {
	start: number;
	end: number;
	first: number;
	last: number;
	order: number;
}

function align(n: number): number {
	return Math.ceil(n / ALIGN) * ALIGN;
}

/** Live ranges in step positions: [first, last], with loops keeping outside values alive to their end. */
export function liveRanges(program: Program): Map<Buffer, [number, number]> {
	const ranges = new Map<Buffer, [number, number]>();
	let position = 0;
	const touch = (view: Buffer) => {
		const buffer = storageOf(view);
		const range = ranges.get(buffer);
		if (range) range[1] = Math.max(range[1], position);
		else ranges.set(buffer, [position, position]);
	};
	// Loops nest through their bodies; an explicit stack keeps deep nesting off the call stack.
	const stack: { steps: Step[]; next: number; loop?: { step: Extract<Step, { kind: "loop" }>; start: number } }[] = [{ steps: program.steps, next: 0 }];
	while (stack.length > 0) {
		const top = stack[stack.length - 1];
		if (top.next === top.steps.length) {
			stack.pop();
			if (!top.loop) continue;
			const { step, start } = top.loop;
			position++;
			for (const c of step.carried) {
				touch(c.next);
				touch(c.variable);
			}
			// Anything from before the loop that the body reads is read again on every iteration.
			for (const range of ranges.values()) if (range[0] < start && range[1] >= start) range[1] = Math.max(range[1], position);
			continue;
		}
		const step = top.steps[top.next++];
		position++;
		if (step.kind === "kernel") {
			step.inputs.forEach(touch);
			step.outputs.forEach(touch);
		} else if (step.kind === "copy") {
			step.inputs.forEach(touch);
			touch(step.output);
			if (step.dynamic) touch(step.dynamic.index);
		} else {
			const start = position;
			for (const c of step.carried) {
				touch(c.initial);
				touch(c.variable);
			}
			stack.push({ steps: step.body, next: 0, loop: { step, start } });
		}
	}
	return ranges;
}

/**
 * Arguments, results and loop state get their own regions; temporaries share the rest, placed greedily
 * (largest first, lowest offset that overlaps nothing alive at the same time).
 */
export function planMemory(program: Program): MemoryPlan {
	const offsets = new Map<Buffer, number>();
	let cursor = 0;
	const region = (kind: Buffer["kind"]) => {
		const start = cursor;
		for (const buffer of program.buffers.filter((b) => b.kind === kind && !b.aliasOf).sort((a, b) => (a.index ?? 0) - (b.index ?? 0))) {
			offsets.set(buffer, cursor);
			cursor = align(cursor + bufferBytes(buffer));
		}
		return cursor - start;
	};
	const argumentBytes = region("argument");
	const resultBytes = region("result");
	const stateBytes = region("state");
	const tempStart = cursor;

	const ranges = liveRanges(program);
	const temps = program.buffers.filter((b) => b.kind === "temp" && !b.aliasOf && ranges.has(b)).sort((a, b) => bufferBytes(b) - bufferBytes(a) || a.id - b.id);
	// Placed buffers by the blocks of step positions they are live in, so finding the ones alive at the same
	// time as a new buffer looks at its neighbourhood, not at everything placed so far (linear on long chains).
	const placedIn = new Map<number, Placed[]>();
	const seen = new Map<Placed, number>();
	let peak = 0;
	temps.forEach((buffer, order) => {
		const [first, last] = ranges.get(buffer)!;
		const size = align(bufferBytes(buffer));
		const conflicts: Placed[] = [];
		for (let block = Math.floor(first / BLOCK); block <= Math.floor(last / BLOCK); block++) {
			for (const p of placedIn.get(block) ?? []) {
				if (seen.get(p) === order || !(p.first <= last && first <= p.last)) continue;
				seen.set(p, order);
				conflicts.push(p);
			}
		}
		conflicts.sort((a, b) => a.start - b.start || a.order - b.order);
		let offset = 0;
		for (const other of conflicts) {
			if (offset + size <= other.start) break;
			offset = Math.max(offset, other.end);
		}
		const placed: Placed = { start: offset, end: offset + size, first, last, order };
		for (let block = Math.floor(first / BLOCK); block <= Math.floor(last / BLOCK); block++) {
			let list = placedIn.get(block);
			if (!list) placedIn.set(block, (list = []));
			list.push(placed);
		}
		offsets.set(buffer, tempStart + offset);
		peak = Math.max(peak, offset + size);
	});
	const arenaBytes = Math.max(ALIGN, tempStart + peak);
	checkTotal(arenaBytes, `the module's arena (${formatBytes(arenaBytes)}: arguments, results, state and temporaries)`);
	return {
		offsets,
		arenaBytes,
		argumentBytes, resultBytes, stateBytes,
		tempBytes: peak,
		tempBytesUnshared: temps.reduce((sum, b) => sum + align(bufferBytes(b)), 0),
	};
}
