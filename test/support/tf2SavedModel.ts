// Writes TF2 SavedModels the way tf.saved_model.save and Keras write them, since no TensorFlow runs here: the graph
// holds VarHandleOp resource variables and StatefulPartitionedCall nodes over a function library (__inference_*),
// serving_default calls the signature wrapper with the variables as captured inputs, the SavedObjectGraph's
// bound_inputs name those variables by object id, and variables/variables is a snappy-compressed object-graph checkpoint.

import * as fs from "node:fs";
import * as path from "node:path";
import { encodeMessage, types } from "../../extension/core/frontends/tf/proto/registry";
import type { ArgDef, FunctionDef, NodeDef } from "../../extension/core/frontends/tf/proto/types";
import { type DType, type Tensor, dtypeToEnum, makeTensor } from "../../extension/core/graph/tensor";
import { type TrackableObjectGraphObject, writeCheckpoint } from "./checkpointWriter";
import { attr } from "./graphBuilder";

const RESOURCE = 20;
const STRING = 7;

/** One body node of a FunctionDef: inputs are arguments or `node:output_arg:index`, as TensorFlow writes them. */
export function fnode(name: string, op: string, input: string[], attrs: NodeDef["attr"] = {}): NodeDef {
	return { name, op, input, attr: attrs };
}

/** A FunctionDef; argument types are DTypes or "resource". */
export function functionDef(
	name: string, inputs: [string, DType | "resource" | "string"][], outputs: [string, DType | "resource" | "string"][], nodes: NodeDef[],
	ret: Record<string, string>, controlRet: Record<string, string> = {},
): FunctionDef {
	const arg = ([argName, type]: [string, DType | "resource" | "string"]): ArgDef => ({ name: argName, type: typeEnum(type) });
	return {
		signature: { name, input_arg: inputs.map(arg), output_arg: outputs.map(arg), control_output: Object.keys(controlRet) },
		node_def: nodes, ret, control_ret: controlRet,
	};
}

function typeEnum(type: DType | "resource" | "string"): number {
	return type === "resource" ? RESOURCE : type === "string" ? STRING : dtypeToEnum(type);
}

/** A call of a library function through StatefulPartitionedCall, attributes as tf.function writes them. */
export function partitionedCall(name: string, fn: string, input: string[], tin: (DType | "resource" | "string")[], tout: (DType | "string")[]): NodeDef {
	return {
		name, op: "StatefulPartitionedCall", input,
		attr: {
			f: { func: { name: fn, attr: {} } },
			Tin: { list: { type: tin.map(typeEnum) } },
			Tout: { list: { type: tout.map(typeEnum) } },
			_collective_manager_ids: { list: {} },
			_read_only_resource_inputs: { list: { i: tin.map((t, i) => (t === "resource" ? i : -1)).filter((i) => i >= 0) } },
			config: attr.s(""), config_proto: attr.s(""), executor_type: attr.s(""),
		},
	};
}

export interface DenseLayer {
	kernel: Tensor;
	bias: Tensor;
	activation: "tanh" | "relu" | "linear";
}

export interface KerasSavedModelOptions {
	/** Leave this function out of the library, as a model exported without it would be. */
	dropFunction?: "wrapped_model" | "signature_wrapper";
	/**
	 * Name the graph's variable handles unlike anything in the checkpoint and leave the object graph's full_names
	 * out, so only the SavedObjectGraph's bound_inputs can say which variable is which.
	 */
	opaqueVariableNames?: boolean;
}

export interface WrittenSavedModel {
	dir: string;
	input: string;
	/** serving_default's output tensor, as its SignatureDef names it. */
	output: string;
	wrapper: string;
	wrappedModel: string;
}

/** A Keras Sequential of Dense layers saved with model.save / tf.saved_model.save (TF 2.x, Keras 2). */
export function writeKerasDenseSavedModel(dir: string, inputSize: number, layers: DenseLayer[], options: KerasSavedModelOptions = {}): WrittenSavedModel {
	const wrapper = "__inference_signature_wrapper_1092";
	const wrappedModel = "__inference__wrapped_model_951";
	const layerName = (l: number) => (l === 0 ? "dense" : `dense_${l}`);
	const variables = layers.flatMap((layer, l) => [
		{ layer: l, field: "kernel", value: layer.kernel },
		{ layer: l, field: "bias", value: layer.bias },
	]).map((v, k) => ({
		...v,
		name: `${layerName(v.layer)}/${v.field}`,
		handle: options.opaqueVariableNames ? `Variable_${k}` : `${layerName(v.layer)}/${v.field}`,
		argument: `sequential_${layerName(v.layer)}_${v.field === "kernel" ? "matmul" : "biasadd"}_readvariableop_resource`,
		objectId: 3 + k,
	}));
	const F = attr.type("float32");

	// The Keras call, traced: reads of the captured variables, MatMul, BiasAdd, activation; NoOp orders the reads.
	const body: NodeDef[] = [];
	let x = "input_1";
	layers.forEach((layer, l) => {
		const scope = `sequential/${layerName(l)}`;
		const [kernel, bias] = variables.filter((v) => v.layer === l);
		body.push(fnode(`${scope}/MatMul/ReadVariableOp`, "ReadVariableOp", [kernel.argument], { dtype: F }));
		body.push(fnode(`${scope}/MatMul`, "MatMul", [x, `${scope}/MatMul/ReadVariableOp:value:0`], { T: F, transpose_a: attr.b(false), transpose_b: attr.b(false) }));
		body.push(fnode(`${scope}/BiasAdd/ReadVariableOp`, "ReadVariableOp", [bias.argument], { dtype: F }));
		body.push(fnode(`${scope}/BiasAdd`, "BiasAdd", [`${scope}/MatMul:product:0`, `${scope}/BiasAdd/ReadVariableOp:value:0`], { T: F, data_format: attr.s("NHWC") }));
		x = `${scope}/BiasAdd:output:0`;
		if (layer.activation === "tanh") {
			body.push(fnode(`${scope}/Tanh`, "Tanh", [x], { T: F }));
			x = `${scope}/Tanh:y:0`;
		} else if (layer.activation === "relu") {
			body.push(fnode(`${scope}/Relu`, "Relu", [x], { T: F }));
			x = `${scope}/Relu:activations:0`;
		}
	});
	body.push(fnode("NoOp", "NoOp", body.filter((n) => n.op === "ReadVariableOp").map((n) => `^${n.name}`)));
	body.push(fnode("Identity", "Identity", [x, "^NoOp"], { T: F }));
	const resources = variables.map((v) => [v.argument, "resource"] as [string, "resource"]);
	const wrapped = functionDef(wrappedModel, [["input_1", "float32"], ...resources], [["identity", "float32"]], body, { identity: "Identity:output:0" }, { NoOp: "NoOp" });

	const unknowns = variables.map((_, k) => (k === 0 ? "unknown" : `unknown_${k - 1}`));
	const signatureWrapper = functionDef(wrapper, [["input_1", "float32"], ...unknowns.map((u) => [u, "resource"] as [string, "resource"])], [["identity", "float32"]], [
		partitionedCall("StatefulPartitionedCall", wrappedModel, ["input_1", ...unknowns], ["float32", ...unknowns.map(() => "resource" as const)], ["float32"]),
		fnode("Identity", "Identity", ["StatefulPartitionedCall:output:0", "^NoOp"], { T: F }),
		fnode("NoOp", "NoOp", ["^StatefulPartitionedCall"]),
	], { identity: "Identity:output:0" }, { NoOp: "NoOp" });

	// The restore function the saver calls: RestoreV2 then AssignVariableOp per variable (never inference).
	const restore = functionDef("__inference__traced_restore_1201", [["file_prefix", "string"], ...unknowns.map((u) => [u, "resource"] as [string, "resource"])], [["identity_5", "string"]], [
		fnode("RestoreV2/tensor_names", "Const", [], { dtype: attr.type("string"), value: attr.tensor({ dtype: "string", shape: [variables.length], data: variables.map((v) => new TextEncoder().encode(keyOf(v))) }) }),
		fnode("RestoreV2/shape_and_slices", "Const", [], { dtype: attr.type("string"), value: attr.tensor({ dtype: "string", shape: [variables.length], data: variables.map(() => new Uint8Array()) }) }),
		fnode("RestoreV2", "RestoreV2", ["file_prefix", "RestoreV2/tensor_names:output:0", "RestoreV2/shape_and_slices:output:0"], { dtypes: attr.types(variables.map(() => "float32")) }),
		...variables.flatMap((_, k) => [
			fnode(`Identity_${k}`, "Identity", [`RestoreV2:tensors:${k}`], { T: F }),
			fnode(`AssignVariableOp_${k}`, "AssignVariableOp", [unknowns[k], `Identity_${k}:output:0`], { dtype: F }),
		]),
		fnode("NoOp", "NoOp", variables.map((_, k) => `^AssignVariableOp_${k}`)),
		fnode("Identity_5", "Identity", ["file_prefix", "^NoOp"], { T: attr.type("string") }),
	], { identity_5: "Identity_5:output:0" }, { NoOp: "NoOp" });

	const library = [wrapped, signatureWrapper, restore].filter((f) => {
		const dropped = options.dropFunction === "wrapped_model" ? wrappedModel : options.dropFunction === "signature_wrapper" ? wrapper : "";
		return f.signature?.name !== dropped;
	});

	const graph: NodeDef[] = [
		...variables.flatMap((v) => [
			fnode(v.handle, "VarHandleOp", [], { dtype: F, shape: attr.shape(v.value.shape), shared_name: attr.s(v.handle), container: attr.s(""), allowed_devices: { list: {} } }),
			fnode(`${v.handle}/Read/ReadVariableOp`, "ReadVariableOp", [v.handle], { dtype: F }),
		]),
		fnode("serving_default_input_1", "Placeholder", [], { dtype: F, shape: attr.shape([-1, inputSize]) }),
		partitionedCall("StatefulPartitionedCall", wrapper, ["serving_default_input_1", ...variables.map((v) => v.handle)], ["float32", ...variables.map(() => "resource" as const)], ["float32"]),
		fnode("saver_filename", "Placeholder", [], { dtype: attr.type("string"), shape: attr.shape([]) }),
		partitionedCall("StatefulPartitionedCall_2", "__inference__traced_restore_1201", ["saver_filename", ...variables.map((v) => v.handle)], ["string", ...variables.map(() => "resource" as const)], ["string"]),
	];

	const outputUnits = layers[layers.length - 1].bias.shape[0];
	const layerObjects = layers.map((_, l) => ({ children: [{ node_id: 3 + 2 * l, local_name: "kernel" }, { node_id: 4 + 2 * l, local_name: "bias" }] }));
	// Checkpoint and SavedObjectGraph share node ids: root, the layers, then the variables.
	const checkpointGraph: TrackableObjectGraphObject = {
		nodes: [
			{ children: layers.flatMap((_, l) => [{ node_id: 1 + l, local_name: `layer_with_weights-${l}` }, { node_id: 1 + l, local_name: `layer-${l}` }]) },
			...layerObjects,
			...variables.map((v) => ({ attributes: [{ name: "VARIABLE_VALUE", ...(options.opaqueVariableNames ? {} : { full_name: v.name }), checkpoint_key: keyOf(v) }] })),
		],
	};
	if (layers.length !== 2) throw new Error("writeKerasDenseSavedModel: the object ids are laid out for two layers");
	const signatureMap = 3 + variables.length;
	const objectGraph = {
		nodes: [
			{ ...checkpointGraph.nodes[0], children: [...checkpointGraph.nodes[0].children!, { node_id: signatureMap, local_name: "signatures" }], user_object: { identifier: "_tf_keras_sequential", version: { producer: 1, min_consumer: 1 } } },
			...layerObjects.map((o) => ({ ...o, user_object: { identifier: "_tf_keras_layer", version: { producer: 1, min_consumer: 1 } } })),
			...variables.map((v) => ({ variable: { dtype: dtypeToEnum("float32"), shape: { dim: v.value.shape.map((size) => ({ size })) }, trainable: true, name: v.name } })),
			{ children: [{ node_id: signatureMap + 1, local_name: "serving_default" }], user_object: { identifier: "signature_map", version: { producer: 1, min_consumer: 1 } } },
			{ bare_concrete_function: { concrete_function_name: wrapper, argument_keywords: ["input_1"], allowed_positional_arguments: 0 } },
		],
		concrete_functions: {
			[wrapper]: { bound_inputs: variables.map((v) => v.objectId) },
			[wrappedModel]: { bound_inputs: variables.map((v) => v.objectId) },
		},
	};
	const meta = {
		meta_info_def: { tags: ["serve"], tensorflow_version: "2.15.0", tensorflow_git_version: "v2.15.0-0-g6887368d6d4", stripped_default_attrs: true },
		graph_def: { node: graph, versions: { producer: 1645, min_consumer: 12 }, library: { function: library } },
		signature_def: {
			serving_default: {
				inputs: { input_1: { name: "serving_default_input_1:0", dtype: dtypeToEnum("float32"), tensor_shape: { dim: [{ size: -1 }, { size: inputSize }] } } },
				outputs: { [layerName(layers.length - 1)]: { name: "StatefulPartitionedCall:0", dtype: dtypeToEnum("float32"), tensor_shape: { dim: [{ size: -1 }, { size: outputUnits }] } } },
				method_name: "tensorflow/serving/predict",
			},
			__saved_model_init_op: { outputs: { __saved_model_init_op: { name: "NoOp" } } },
		},
		object_graph_def: objectGraph,
	};
	fs.mkdirSync(path.join(dir, "variables"), { recursive: true });
	fs.writeFileSync(path.join(dir, "saved_model.pb"), encodeMessage(types.SavedModel, { saved_model_schema_version: 1, meta_graphs: [meta] }));
	writeCheckpoint(path.join(dir, "variables", "variables"), variables.map((v) => ({ key: keyOf(v), value: v.value })), { compression: "snappy", objectGraph: checkpointGraph, blockSize: 4096 });
	return { dir, input: "serving_default_input_1", output: "StatefulPartitionedCall", wrapper, wrappedModel };
}

function keyOf(v: { layer: number; field: string }): string {
	return `layer_with_weights-${v.layer}/${v.field}/.ATTRIBUTES/VARIABLE_VALUE`;
}

/** Deterministic weights for tests: values spread over [-scale, scale). */
export function weights(random: () => number, shape: number[], scale = 1): Tensor {
	const size = shape.reduce((a, b) => a * b, 1);
	return makeTensor("float32", shape, Array.from({ length: size }, () => (random() * 2 - 1) * scale));
}
