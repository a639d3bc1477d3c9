// Layered layout with dagre. Loop frames become clusters; a graph too large to lay out at once is laid out
// as a window of nodes around a focus node.
import dagre from "@dagrejs/dagre";
import type { GraphNodeView } from "../shared/protocol";

/** Above this many nodes only a window around the focus is laid out (dagre needs about a second for this many). */
export const LAYOUT_LIMIT = 600;
// network-simplex ranks best but grows fast; tight-tree stays near a second up to the limit.
const NETWORK_SIMPLEX_LIMIT = 300;

export interface Box {
	x: number;
	y: number;
	width: number;
	height: number;
}

export interface LaidOutEdge {
	from: string;
	to: string;
	control: boolean;
	points: { x: number; y: number }[];
}

export interface Layout {
	/** Node centres and sizes. */
	nodes: Map<string, Box>;
	edges: LaidOutEdge[];
	frames: (Box & { name: string })[];
	width: number;
	height: number;
}

export function sourceNode(input: string): string {
	const match = /^(.*):\d+$/.exec(input);
	return match ? match[1] : input;
}

/** The nodes to lay out: all of them, or `focus`, what it is computed from, then the nearest over edges in either direction, up to `limit`. */
export function layoutWindow(nodes: readonly GraphNodeView[], focus: string | undefined, limit = LAYOUT_LIMIT): Set<string> {
	if (nodes.length <= limit) return new Set(nodes.map((n) => n.name));
	const neighbours = new Map<string, string[]>();
	const link = (a: string, b: string) => {
		if (!neighbours.has(a)) neighbours.set(a, []);
		neighbours.get(a)!.push(b);
	};
	const names = new Set(nodes.map((n) => n.name));
	for (const node of nodes) {
		for (const input of [...node.inputs, ...node.controlInputs]) {
			const source = sourceNode(input);
			if (!names.has(source)) continue;
			link(node.name, source);
			link(source, node.name);
		}
	}
	const start = focus !== undefined && names.has(focus) ? focus : nodes[nodes.length - 1].name;
	const window = new Set<string>([start]);
	// What the focus is computed from comes first (for a fetch, what deploying it needs); then neighbours either way.
	const byName = new Map(nodes.map((n) => [n.name, n]));
	let upstream = [start];
	while (upstream.length > 0 && window.size < limit) {
		const next: string[] = [];
		for (const name of upstream) {
			for (const input of [...byName.get(name)!.inputs, ...byName.get(name)!.controlInputs]) {
				const source = sourceNode(input);
				if (window.size >= limit) break;
				if (names.has(source) && !window.has(source)) {
					window.add(source);
					next.push(source);
				}
			}
		}
		upstream = next;
	}
	let frontier = [...window];
	while (frontier.length > 0 && window.size < limit) {
		const next: string[] = [];
		for (const name of frontier) {
			for (const other of neighbours.get(name) ?? []) {
				if (window.size >= limit) break;
				if (!window.has(other)) {
					window.add(other);
					next.push(other);
				}
			}
		}
		frontier = next;
	}
	return window;
}

const FRAME_PREFIX = "\u0000frame:";

/** Lays out the given nodes (edges to nodes outside the set are left out). */
export function layoutGraph(nodes: readonly GraphNodeView[], size: (node: GraphNodeView) => { width: number; height: number }): Layout {
	const graph = new dagre.graphlib.Graph({ compound: true, multigraph: true });
	graph.setGraph({
		rankdir: "TB",
		nodesep: 18,
		ranksep: 34,
		edgesep: 8,
		marginx: 24,
		marginy: 24,
		ranker: nodes.length <= NETWORK_SIMPLEX_LIMIT ? "network-simplex" : "tight-tree",
	});
	const names = new Set(nodes.map((n) => n.name));
	const frameNames = new Set<string>();
	for (const node of nodes) {
		graph.setNode(node.name, { ...size(node) });
		if (node.frame === "") continue;
		// Nested frames are written "outer > inner": each level is a cluster inside its parent.
		const levels = node.frame.split(" > ");
		let parent: string | undefined;
		for (let i = 0; i < levels.length; i++) {
			const id = FRAME_PREFIX + levels.slice(0, i + 1).join(" > ");
			if (!frameNames.has(id)) {
				frameNames.add(id);
				graph.setNode(id, { label: levels[i] });
				if (parent) graph.setParent(id, parent);
			}
			parent = id;
		}
		graph.setParent(node.name, parent!);
	}
	const seen = new Set<string>();
	const addEdge = (from: string, to: string, control: boolean) => {
		const key = `${from}\u0000${to}`;
		if (from === to || !names.has(from) || seen.has(key)) return;
		seen.add(key);
		graph.setEdge(from, to, { control }, key);
	};
	for (const node of nodes) {
		for (const input of node.inputs) addEdge(sourceNode(input), node.name, false);
		for (const control of node.controlInputs) addEdge(control, node.name, true);
	}
	dagre.layout(graph);

	const laidOut = new Map<string, Box>();
	for (const node of nodes) {
		const box = graph.node(node.name);
		laidOut.set(node.name, { x: box.x, y: box.y, width: box.width, height: box.height });
	}
	const frames = [...frameNames].map((id) => {
		const box = graph.node(id);
		return { name: id.slice(FRAME_PREFIX.length), x: box.x, y: box.y, width: box.width, height: box.height };
	});
	const edges = graph.edges().map((e) => {
		const label = graph.edge(e) as { control: boolean; points?: { x: number; y: number }[] };
		return { from: e.v, to: e.w, control: label.control, points: label.points ?? [] };
	});
	const info = graph.graph();
	return { nodes: laidOut, edges, frames, width: info.width ?? 0, height: info.height ?? 0 };
}
