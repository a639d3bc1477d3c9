import type { AppStatus, ChannelLine, ElementType, EventKind, GuardReason, SlotStatus } from "./types";
import { RuntimeError } from "./runtimeError";

// The JSON lines of knn-channel, checked field by field: a tool from another version, or a line cut in half by a
// dropped connection, fails here with the line named instead of surfacing later as undefined.

const ELEMENT_TYPES: readonly ElementType[] = ["float32", "int8", "uint8", "int16", "int32"];
const GUARD_REASONS: readonly GuardReason[] = ["none", "nan", "range", "latency", "error"];
const EVENT_KINDS: readonly EventKind[] = ["register", "unregister", "activate", "rollback", "guard"];
// JSON has no NaN or Infinity, so the tool writes those values as these strings.
const NON_FINITE: Record<string, number> = { NaN: NaN, Infinity: Infinity, "-Infinity": -Infinity };

type Json = Record<string, unknown>;

class LineReader {
	constructor(private readonly line: string, private readonly what: string) {}

	fail(why: string): never {
		const shown = this.line.length > 200 ? `${this.line.slice(0, 197)}...` : this.line;
		throw new RuntimeError(`knn-channel printed ${this.what} that Kernel NN cannot read (${why}): ${shown}; `
			+ "install the runtime again (knn runtime install) so that the tool and this Kernel NN match.");
	}

	object(value: unknown, where: string): Json {
		if (typeof value !== "object" || value === null || Array.isArray(value)) this.fail(`${where} is not an object`);
		return value as Json;
	}

	number(o: Json, key: string): number {
		const value = o[key];
		if (typeof value !== "number" || !Number.isFinite(value)) this.fail(`"${key}" is not a number`);
		return value;
	}

	string(o: Json, key: string): string {
		const value = o[key];
		if (typeof value !== "string") this.fail(`"${key}" is not a string`);
		return value;
	}

	boolean(o: Json, key: string): boolean {
		const value = o[key];
		if (typeof value !== "boolean") this.fail(`"${key}" is not true or false`);
		return value;
	}

	oneOf<T extends string>(o: Json, key: string, allowed: readonly T[]): T {
		const value = this.string(o, key);
		if (!(allowed as readonly string[]).includes(value)) this.fail(`"${key}" is ${JSON.stringify(value)}, not one of ${allowed.join(", ")}`);
		return value as T;
	}

	numbers(o: Json, key: string): number[] {
		const value = o[key];
		if (!Array.isArray(value)) this.fail(`"${key}" is not an array`);
		return value.map((v: unknown) => {
			if (typeof v === "number") return v;
			if (typeof v === "string" && v in NON_FINITE) return NON_FINITE[v];
			return this.fail(`"${key}" holds ${JSON.stringify(v)}, which is not a number`);
		});
	}

	optionalNumber(o: Json, key: string): number | undefined {
		if (o[key] === undefined) return undefined;
		const value = o[key];
		if (typeof value === "string" && value in NON_FINITE) return NON_FINITE[value];
		return this.number(o, key);
	}
}

function parseJson(reader: LineReader, text: string): Json {
	let value: unknown;
	try {
		value = JSON.parse(text);
	} catch (error) {
		reader.fail(error instanceof Error ? error.message : String(error));
	}
	return reader.object(value, "the line");
}

/** One line of `knn-channel stream` as a ChannelLine; a RuntimeError naming the line when it is not one. */
export function parseChannelLine(text: string): ChannelLine {
	const r = new LineReader(text, "a stream line");
	const o = parseJson(r, text);
	const kind = r.oneOf(o, "kind", ["record", "event", "dropped"] as const);
	const app = r.string(o, "app");
	switch (kind) {
		case "record":
			return {
				kind, app, seq: r.number(o, "seq"), timeNs: r.number(o, "timeNs"), modelId: r.number(o, "modelId"), latencyNs: r.number(o, "latencyNs"),
				input: r.numbers(o, "input"), output: r.numbers(o, "output"),
			};
		case "event":
			return {
				kind, app, event: r.oneOf(o, "event", EVENT_KINDS), reason: r.oneOf(o, "reason", GUARD_REASONS), fromId: r.number(o, "fromId"),
				toId: r.number(o, "toId"), modelId: r.number(o, "modelId"), message: r.string(o, "message"), timeMs: r.number(o, "timeMs"),
			};
		case "dropped":
			return { kind, app, count: r.number(o, "count") };
	}
}

/** One line of `knn-channel list` as an AppStatus; a RuntimeError naming the line when it is not one. */
export function parseAppStatus(text: string): AppStatus {
	const r = new LineReader(text, "an application");
	const o = parseJson(r, text);
	const slots: unknown[] = Array.isArray(o.slots) ? o.slots : r.fail(`"slots" is not an array`);
	const guard = r.object(o.guard, `"guard"`);
	const min = r.optionalNumber(guard, "min");
	const max = r.optionalNumber(guard, "max");
	return {
		app: r.string(o, "app"), owner: r.string(o, "owner"),
		inputType: r.oneOf(o, "inputType", ELEMENT_TYPES), outputType: r.oneOf(o, "outputType", ELEMENT_TYPES),
		inputBytes: r.number(o, "inputBytes"), outputBytes: r.number(o, "outputBytes"), stateBytes: r.number(o, "stateBytes"),
		activeId: r.number(o, "activeId"),
		slots: slots.map((slot: unknown): SlotStatus => {
			const s = r.object(slot, "a slot");
			return {
				index: r.number(s, "index"), modelId: r.number(s, "modelId"), name: r.string(s, "name"), module: r.string(s, "module"),
				active: r.boolean(s, "active"), failed: r.oneOf(s, "failed", GUARD_REASONS), inferences: r.number(s, "inferences"),
				errors: r.number(s, "errors"), skipped: r.number(s, "skipped"), rollbacks: r.number(s, "rollbacks"),
				latencyP50Ns: r.number(s, "latencyP50Ns"), latencyP99Ns: r.number(s, "latencyP99Ns"), latencyMaxNs: r.number(s, "latencyMaxNs"),
				usesFpu: r.boolean(s, "usesFpu"), registeredMs: r.number(s, "registeredMs"),
			};
		}),
		recordsSent: r.number(o, "recordsSent"), recordsDropped: r.number(o, "recordsDropped"),
		...(o.message !== undefined ? { message: r.string(o, "message") } : {}),
		guard: {
			window: r.number(guard, "window"), latencyNs: r.number(guard, "latencyNs"),
			...(min !== undefined ? { min } : {}), ...(max !== undefined ? { max } : {}),
			...(guard.badOutputs !== undefined ? { badOutputs: r.number(guard, "badOutputs") } : {}),
		},
	};
}
