// The IR's attribute and constant vocabulary. It is TensorFlow's (AttrValue, TensorProto, TensorShapeProto, with
// their snake_case field names): every front end translates its model into these, and the interpreter and compiler
// read nothing else. Decoded or hand-built messages carry defaults on their prototype, so presence is tested with has().

export interface TensorShapeProto {
	dim?: { size?: number; name?: string }[];
	unknown_rank?: boolean;
}

export interface TensorProto {
	dtype?: number;
	tensor_shape?: TensorShapeProto;
	tensor_content?: Uint8Array;
	half_val?: number[];
	float_val?: number[];
	double_val?: number[];
	int_val?: number[];
	string_val?: Uint8Array[];
	int64_val?: number[];
	bool_val?: boolean[];
	uint32_val?: number[];
	uint64_val?: number[];
}

export interface NameAttrList {
	name?: string;
	attr?: Record<string, AttrValue>;
}

export interface AttrListValue {
	s?: Uint8Array[];
	i?: number[];
	f?: number[];
	b?: boolean[];
	type?: number[];
	shape?: TensorShapeProto[];
	tensor?: TensorProto[];
	func?: NameAttrList[];
}

export interface AttrValue {
	s?: Uint8Array;
	i?: number;
	f?: number;
	b?: boolean;
	type?: number;
	shape?: TensorShapeProto;
	tensor?: TensorProto;
	list?: AttrListValue;
	func?: NameAttrList;
	placeholder?: string;
}

// A graph serialises as TensorFlow's GraphDef; `library` holds a TF2 function library until the TF front end inlines it.
export interface NodeDef {
	name: string;
	op: string;
	input: string[];
	device?: string;
	attr: Record<string, AttrValue>;
}

export interface VersionDef {
	producer?: number;
	min_consumer?: number;
}

export interface GraphDef {
	node: NodeDef[];
	versions?: VersionDef;
	library?: { function?: unknown[] };
}

/** True when a decoded or hand-built message has the field set (not a prototype default). */
export function has<T extends object>(message: T | undefined, field: keyof T & string): boolean {
	return message !== undefined && Object.prototype.hasOwnProperty.call(message, field);
}
