// Lookups in a TF2 checkpoint's object graph (the TrackableObjectGraph stored under _CHECKPOINTABLE_OBJECT_GRAPH).
// Its node ids are the SavedModel's SavedObjectGraph node ids, so a SavedModel variable maps to a checkpoint key
// through its node id; a Keras path such as "layer_with_weights-0/kernel" maps through the children's local names.

import type { TrackableObject, TrackableObjectGraph } from "../proto/types";
import { codedError } from "../../../util/errors";

export const VARIABLE_VALUE = "VARIABLE_VALUE";
const ATTRIBUTES_SEGMENT = ".ATTRIBUTES";

/** Thrown for ids or graphs that do not fit together; the caller wraps it with the checkpoint's name. */
export class ObjectGraphLookupError extends codedError("checkpoint", "ObjectGraphLookupError") {}

function nodeAt(graph: TrackableObjectGraph, nodeId: number): TrackableObject {
	const nodes = graph.nodes ?? [];
	if (!Number.isInteger(nodeId) || nodeId < 0 || nodeId >= nodes.length) {
		throw new ObjectGraphLookupError(`has no object ${nodeId}: its object graph holds nodes 0 to ${nodes.length - 1}`);
	}
	return nodes[nodeId];
}

/** The checkpoint key of the node's attribute `name` (VARIABLE_VALUE for variables), or undefined when it has none. */
export function attributeKey(graph: TrackableObjectGraph, nodeId: number, name = VARIABLE_VALUE): string | undefined {
	return nodeAt(graph, nodeId).attributes?.find((attribute) => attribute.name === name)?.checkpoint_key || undefined;
}

/** Undoes TensorFlow's escaping of local names in checkpoint keys ("." as "..", "/" as ".S"). */
function unescapeLocalName(segment: string): string {
	return segment.replace(/\.(.)/g, (_, c: string) => (c === "S" ? "/" : c));
}

/**
 * Walks children by local name from the root (node 0). `path` is slash-separated, as in checkpoint keys; a trailing
 * "/.ATTRIBUTES/NAME" picks that attribute, otherwise VARIABLE_VALUE. Undefined when any step is missing.
 */
export function keyForPath(graph: TrackableObjectGraph, path: string): string | undefined {
	const segments = path.split("/").filter((segment) => segment !== "");
	let attribute = VARIABLE_VALUE;
	const marker = segments.indexOf(ATTRIBUTES_SEGMENT);
	if (marker >= 0) {
		if (marker !== segments.length - 2) return undefined;
		attribute = segments[marker + 1];
		segments.length = marker;
	}
	if ((graph.nodes ?? []).length === 0) return undefined;
	let nodeId = 0;
	for (const segment of segments) {
		const localName = unescapeLocalName(segment);
		const child = nodeAt(graph, nodeId).children?.find((reference) => reference.local_name === localName);
		if (child === undefined) return undefined;
		nodeId = child.node_id ?? 0;
	}
	return attributeKey(graph, nodeId, attribute);
}

/** Variable name (full_name, as tf.train.Saver would have keyed it) to checkpoint key; the first one wins. */
export function fullNameKeys(graph: TrackableObjectGraph): Map<string, string> {
	const map = new Map<string, string>();
	for (const node of graph.nodes ?? []) {
		for (const attribute of node.attributes ?? []) {
			// Attributes without a full_name (e.g. Python state) cannot be matched to graph variables.
			if (attribute.full_name && attribute.checkpoint_key && !map.has(attribute.full_name)) {
				map.set(attribute.full_name, attribute.checkpoint_key);
			}
		}
	}
	return map;
}

/** Checks every child and slot reference points inside the graph, so later walks cannot go astray. */
export function validateObjectGraph(graph: TrackableObjectGraph): void {
	const count = (graph.nodes ?? []).length;
	const inRange = (id: number | undefined): boolean => Number.isInteger(id ?? 0) && (id ?? 0) >= 0 && (id ?? 0) < count;
	(graph.nodes ?? []).forEach((node, index) => {
		for (const child of node.children ?? []) {
			if (!inRange(child.node_id)) {
				throw new ObjectGraphLookupError(`has an object graph whose node ${index} names child ${child.node_id} ("${child.local_name ?? ""}"), outside its ${count} nodes`);
			}
		}
		for (const slot of node.slot_variables ?? []) {
			if (!inRange(slot.original_variable_node_id) || !inRange(slot.slot_variable_node_id)) {
				throw new ObjectGraphLookupError(`has an object graph whose node ${index} has a slot variable outside its ${count} nodes`);
			}
		}
	});
}
