// ONNX tensor names as IR node names. Configs and the CLI read "NODE:N" as output N of NODE and "^NODE" as a control
// edge, so an ONNX name is kept verbatim ("input.1", "onnx::Gemm_5" and "/fc/Gemm_output_0" all are) unless it would
// read as one of those: a final ":<digits>" becomes "_<digits>", a leading "^" becomes "_", and "" becomes "unnamed".

/** The IR node name for an ONNX tensor or node name, before making it unique. */
export function irNodeName(onnxName: string): string {
	if (onnxName === "") return "unnamed";
	return onnxName.replace(/:(\d+)$/, "_$1").replace(/^\^/, "_");
}

/** Hands out node names that are unique in one graph: the wanted name, else it with "_1", "_2", ... appended. */
export class NameAllocator {
	private readonly used = new Set<string>();

	has(name: string): boolean {
		return this.used.has(name);
	}

	take(wanted: string): string {
		let name = wanted;
		for (let n = 1; this.used.has(name); n++) name = `${wanted}_${n}`;
		this.used.add(name);
		return name;
	}
}
