// AttributeProto -> OnnxAttribute, by its declared type (or, in files that leave `type` out, by the field that is set).
import type { Tensor } from "../../graph/tensor";
import type { OnnxAttribute } from "./translator";
import { ATTRIBUTE_TYPE, type OnnxAttributeProto } from "./proto";
import { type ExternalDataBase, tensorFromOnnx } from "./tensor";

// A damaged file can hold a field of the wrong wire type where bytes belong: read it as text, never throw a TypeError.
const text = (bytes: Uint8Array | undefined): string => (ArrayBuffer.isView(bytes) ? new TextDecoder().decode(bytes) : String(bytes ?? ""));

function inferredType(proto: OnnxAttributeProto): number {
	if (proto.floats?.length) return ATTRIBUTE_TYPE.FLOATS;
	if (proto.ints?.length) return ATTRIBUTE_TYPE.INTS;
	if (proto.strings?.length) return ATTRIBUTE_TYPE.STRINGS;
	if (proto.t) return ATTRIBUTE_TYPE.TENSOR;
	if (proto.g) return ATTRIBUTE_TYPE.GRAPH;
	if (proto.s?.length) return ATTRIBUTE_TYPE.STRING;
	if (proto.f !== undefined && proto.f !== 0) return ATTRIBUTE_TYPE.FLOAT;
	return ATTRIBUTE_TYPE.INT;
}

/** Decodes one attribute; `where` names the node for errors about its tensors. */
export function decodeAttribute(proto: OnnxAttributeProto, where: string, base: ExternalDataBase): OnnxAttribute {
	const name = proto.name ?? "";
	const tensor = (t: NonNullable<OnnxAttributeProto["t"]>): Tensor => tensorFromOnnx(t, `${where} attribute "${name}"`, base);
	switch (proto.type || inferredType(proto)) {
		case ATTRIBUTE_TYPE.FLOAT: return { name, f: Number(proto.f ?? 0) };
		case ATTRIBUTE_TYPE.INT: return { name, i: Number(proto.i ?? 0) };
		case ATTRIBUTE_TYPE.STRING: return { name, s: text(proto.s) };
		case ATTRIBUTE_TYPE.TENSOR: return proto.t ? { name, t: tensor(proto.t) } : { name };
		case ATTRIBUTE_TYPE.GRAPH: return { name, g: proto.g };
		case ATTRIBUTE_TYPE.FLOATS: return { name, floats: (proto.floats ?? []).map(Number) };
		case ATTRIBUTE_TYPE.INTS: return { name, ints: (proto.ints ?? []).map(Number) };
		case ATTRIBUTE_TYPE.STRINGS: return { name, strings: (proto.strings ?? []).map(text) };
		default: return { name };
	}
}
