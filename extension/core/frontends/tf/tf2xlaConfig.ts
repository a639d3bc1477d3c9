import { type Graph, type TensorRef, parseInputName, refKey } from "../../graph/graph";
import { type FeedSpec, type Inference, declaredShape, feedDType, inferGraph } from "../../interp/infer";
import { type DType, dtypeFromEnum, dtypeTfName, dtypeToEnum, formatShape, shapeFromProto, shapeToProto } from "../../graph/tensor";
import { types } from "./proto/registry";
import { type SourcePosition, TextFormatError, formatTextProto, parseTextProto } from "./proto/textFormat";
import type { Tf2xlaConfig, Tf2xlaFeed, Tf2xlaFetch } from "./proto/types";
import { codedError } from "../../util/errors";
import { BudgetError } from "../../util/budget";

/** A problem found in a graph.config.pbtxt, located for an editor (1-based line and column). */
export interface ConfigProblem {
	file: string;
	message: string;
	position: SourcePosition;
	severity: "error" | "warning";
}

/** A parsed config and where each of its fields stands in the file. */
export interface ConfigFile {
	file: string;
	config: Tf2xlaConfig;
	positions: Map<string, SourcePosition>;
}

export interface FeedRequest {
	ref: TensorRef;
	/** Omitted: taken from the placeholder's declared shape, which must then be fully static. */
	shape?: number[];
	name?: string;
}

export interface FetchRequest {
	ref: TensorRef;
	name?: string;
}

export class ConfigError extends codedError("config", "ConfigError") {}

// 2^24 elements is 64 MiB of float32: far beyond any input a kernel model takes, and cheap to allocate for inference.
const MAX_FEED_ELEMENTS = 1 << 24;

const START: SourcePosition = { line: 1, column: 1, endLine: 1, endColumn: 1 };

/** Parses "NODE[:IDX]=D0xD1x..." or "NODE[:IDX]" as given on the command line. */
export function parseFeedArgument(text: string): FeedRequest {
	const eq = text.lastIndexOf("=");
	const target = eq < 0 ? text : text.slice(0, eq);
	const ref = parseInputName(target).ref;
	if (eq < 0) return { ref };
	const dims = text.slice(eq + 1);
	if (!/^(\d+(x\d+)*)?$/.test(dims)) {
		throw new ConfigError(`feed "${text}": the shape must be dimensions joined by "x", e.g. ${target}=1x1x9 (or nothing for a scalar)`);
	}
	return { ref, shape: dims === "" ? [] : dims.split("x").map(Number) };
}

/** Builds a config from named feeds and fetches, in the given order (it is the argument order). */
export function buildConfig(graph: Graph, feeds: readonly FeedRequest[], fetches: readonly FetchRequest[]): { config: Tf2xlaConfig; inference: Inference } {
	const specs: FeedSpec[] = feeds.map((feed) => {
		const node = graph.get(feed.ref.node);
		if (!node) throw new ConfigError(`feed "${refKey(feed.ref)}" names no node of the graph`);
		const shape = feed.shape ?? declaredShape(node);
		const key = refKey(feed.ref);
		if (!shape) {
			throw new ConfigError(`feed "${key}" has no static shape: the graph does not even give its rank (${formatShape(shape)}); ` +
				`give every dimension, e.g. ${key}=1x30 for a [1,30] input, or ${key}= for a scalar`);
		}
		if (shape.some((d) => d < 0)) {
			// Unknown dimensions are usually the batch: suggest 1 for them and keep the known ones.
			throw new ConfigError(`feed "${key}" has no static shape ${formatShape(shape)} in the graph; give one, e.g. ${key}=${shape.map((d) => (d < 0 ? 1 : d)).join("x")}`);
		}
		return { ref: feed.ref, shape };
	});
	for (const fetch of fetches) {
		if (!graph.has(fetch.ref.node)) throw new ConfigError(`fetch "${refKey(fetch.ref)}" names no node of the graph`);
	}
	const config: Tf2xlaConfig = {
		feed: specs.map((spec, i): Tf2xlaFeed => ({
			id: tensorId(spec.ref),
			shape: shapeToProto(spec.shape),
			...(feeds[i].name ? { name: feeds[i].name } : {}),
			type: dtypeToEnum(feedDType(graph, spec)),
		})),
		fetch: fetches.map((fetch): Tf2xlaFetch => ({ id: tensorId(fetch.ref), ...(fetch.name ? { name: fetch.name } : {}) })),
		variable: [],
	};
	const problems = validateConfig(graph, { file: "<generated>", config, positions: new Map() });
	const errors = problems.filter((p) => p.severity === "error");
	if (errors.length > 0) throw new ConfigError(errors.map((p) => p.message).join("\n"));
	return { config, inference: inferGraph(graph, specs, fetches.map((f) => f.ref)) };
}

function tensorId(ref: TensorRef): Tf2xlaFeed["id"] {
	return ref.index === 0 ? { node_name: ref.node } : { node_name: ref.node, output_index: ref.index };
}

/** Writes a config in TensorFlow's text format, with the inferred fetch shapes noted above it. */
export function formatConfig(config: Tf2xlaConfig, inference?: Inference): string {
	const lines = ["# tf2xla.Config: feeds are the arguments and fetches the results, in this order."];
	if (inference) {
		for (const fetch of config.fetch) {
			const info = inference.tensors.get(refKey(configRef(fetch)));
			if (info) lines.push(`# fetch ${refKey(configRef(fetch))}: ${dtypeTfName(info.dtype)} ${formatShape(info.shape)}`);
		}
	}
	return `${lines.join("\n")}\n${formatTextProto(config, types.Config)}`;
}

export function parseConfig(text: string, file: string): ConfigFile {
	const { message, positions } = parseTextProto<Tf2xlaConfig>(text, types.Config, file);
	return {
		file,
		config: { feed: message.feed ?? [], fetch: message.fetch ?? [], variable: message.variable ?? [] },
		positions,
	};
}

export function configRef(entry: Tf2xlaFeed | Tf2xlaFetch): TensorRef {
	return { node: entry.id?.node_name ?? "", index: Number(entry.id?.output_index ?? 0) };
}

/** Feeds of a config as inference input; only valid after validateConfig reported no errors. */
export function configFeeds(graph: Graph, config: Tf2xlaConfig): FeedSpec[] {
	return config.feed.map((feed) => ({
		ref: configRef(feed),
		shape: shapeFromProto(feed.shape) ?? [],
		dtype: feed.type ? dtypeFromEnum(feed.type, `feed "${refKey(configRef(feed))}"`) : feedDType(graph, { ref: configRef(feed), shape: [] }),
	}));
}

/**
 * Checks a config against a graph: unknown nodes, output indexes out of range, placeholders the fetches need
 * that are not fed, feeds no fetch needs, feed shapes that are not fully static and shapes or types that
 * contradict the graph.
 */
export function validateConfig(graph: Graph, parsed: ConfigFile): ConfigProblem[] {
	const { file, config, positions } = parsed;
	const problems: ConfigProblem[] = [];
	const at = (path: string): SourcePosition => {
		for (let p = path; p !== ""; p = p.replace(/(\.[^.[\]]+|\[[^\]]*\])$/, "")) {
			const found = positions.get(p);
			if (found) return found;
			if (!/(\.[^.[\]]+|\[[^\]]*\])$/.test(p)) break;
		}
		return START;
	};
	const report = (path: string, message: string, severity: ConfigProblem["severity"] = "error") =>
		problems.push({ file, message, position: at(path), severity });

	if (config.fetch.length === 0) report("", "the config has no fetch: add at least one `fetch { id { node_name: ... } }`");
	const seen = new Set<string>();
	config.feed.forEach((feed, i) => {
		const ref = configRef(feed);
		const key = refKey(ref);
		const node = graph.get(ref.node);
		if (!node) return report(`feed[${i}].id.node_name`, `feed "${key}": the graph has no node of that name`);
		if (seen.has(key)) report(`feed[${i}].id`, `feed "${key}" is fed twice`);
		seen.add(key);
		const shape = shapeFromProto(feed.shape);
		if (!feed.shape) return report(`feed[${i}]`, `feed "${key}" has no shape: tfcompile needs every feed fully shaped, e.g. shape { dim { size: 1 } }`);
		if (!shape || shape.some((d) => d < 0)) return report(`feed[${i}].shape`, `feed "${key}" has shape ${formatShape(shape)}, which is not fully static`);
		if (shape.reduce((n, d) => n * d, 1) > MAX_FEED_ELEMENTS) {
			return report(`feed[${i}].shape`, `feed "${key}" has shape ${formatShape(shape)}, more than ${MAX_FEED_ELEMENTS} elements; a kernel model's inputs are far smaller`);
		}
		const declared = node.op.startsWith("Placeholder") ? declaredShape(node) : undefined;
		if (declared && (declared.length !== shape.length || declared.some((d, k) => d >= 0 && d !== shape[k]))) {
			report(`feed[${i}].shape`, `feed "${key}" has shape ${formatShape(shape)} but the graph declares ${formatShape(declared)}`);
		}
		if (feed.type && node.op.startsWith("Placeholder")) {
			const expected = feedDType(graph, { ref, shape });
			const given = safeDType(feed.type);
			if (given !== expected) report(`feed[${i}].type`, `feed "${key}" has type ${given ? dtypeTfName(given) : feed.type} but the placeholder is ${dtypeTfName(expected)}`);
		}
	});
	config.fetch.forEach((fetch, i) => {
		const ref = configRef(fetch);
		if (!graph.has(ref.node)) report(`fetch[${i}].id.node_name`, `fetch "${refKey(ref)}": the graph has no node of that name`);
	});
	if (problems.some((p) => p.severity === "error")) return problems;

	const fed = new Set(config.feed.map((f) => configRef(f).node));
	config.fetch.forEach((fetch, i) => {
		for (const name of graph.ancestors([configRef(fetch).node], fed)) {
			const node = graph.node(name);
			if ((node.op === "Placeholder" || node.op === "PlaceholderV2") && !fed.has(name)) {
				report(`fetch[${i}].id.node_name`, `fetch "${refKey(configRef(fetch))}" needs placeholder "${name}", which is not fed: add a feed for it`);
			}
		}
	});
	if (problems.some((p) => p.severity === "error")) return problems;

	// The compiler keeps only what the fetches need, so a feed outside that is an argument it cannot place.
	const fetchNodes = config.fetch.map((f) => configRef(f).node);
	const needed = graph.ancestors(fetchNodes, fed);
	const reachable = graph.ancestors(fetchNodes);
	config.feed.forEach((feed, i) => {
		const ref = configRef(feed);
		if (needed.has(ref.node)) return;
		report(`feed[${i}].id.node_name`, reachable.has(ref.node)
			? `feed "${refKey(ref)}" is not used: the fetches read it only through other feeds, which cut it off; remove this feed`
			: `feed "${refKey(ref)}" is not used: no fetch depends on it; remove this feed, or fetch something that reads it`);
	});
	if (problems.some((p) => p.severity === "error")) return problems;

	let inference: Inference;
	try {
		// Output 0 stands in for each fetch so that an index out of range is reported as such below.
		inference = inferGraph(graph, configFeeds(graph, config), config.fetch.map((f) => ({ node: configRef(f).node, index: 0 })));
	} catch (error) {
		// Over the memory budget is not a mistake in the config: it is raised with --max-memory, so it stays an error.
		if (error instanceof BudgetError) throw error;
		report("", `the graph cannot run with these feeds: ${error instanceof Error ? error.message : String(error)}`);
		return problems;
	}
	config.feed.forEach((feed, i) => checkIndex(inference, configRef(feed), `feed[${i}]`, report));
	config.fetch.forEach((fetch, i) => {
		const ref = configRef(fetch);
		if (!checkIndex(inference, ref, `fetch[${i}]`, report)) return;
		const info = inference.tensors.get(refKey(ref));
		const shape = shapeFromProto(fetch.shape);
		if (info && fetch.shape && shape && (shape.length !== info.shape.length || shape.some((d, k) => d >= 0 && d !== info.shape[k]))) {
			report(`fetch[${i}].shape`, `fetch "${refKey(ref)}" is declared ${formatShape(shape)} but the graph computes ${formatShape(info.shape)}`);
		}
		if (info && fetch.type && safeDType(fetch.type) !== info.dtype) {
			report(`fetch[${i}].type`, `fetch "${refKey(ref)}" is declared ${safeDType(fetch.type) ?? fetch.type} but the graph computes ${dtypeTfName(info.dtype)}`);
		}
	});
	return problems;
}

function checkIndex(inference: Inference, ref: TensorRef, path: string, report: (path: string, message: string) => void): boolean {
	const count = inference.outputCounts.get(ref.node);
	if (count !== undefined && ref.index >= count) {
		report(`${path}.id.output_index`, `"${ref.node}" has ${count} output(s); output_index ${ref.index} is out of range`);
		return false;
	}
	return true;
}

function safeDType(value: number): DType | undefined {
	try {
		return dtypeFromEnum(value, "config");
	} catch {
		return undefined;
	}
}

export function formatProblem(problem: ConfigProblem): string {
	return `${problem.file}:${problem.position.line}:${problem.position.column}: ${problem.severity}: ${problem.message}`;
}

export { TextFormatError };
