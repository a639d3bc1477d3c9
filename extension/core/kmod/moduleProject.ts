import * as fs from "node:fs";
import * as path from "node:path";
import type { CompiledModel } from "../codegen/compile";
import { cString } from "../codegen/cText";
import { bufferBytes } from "../codegen/memoryPlan";
import { assertModuleEdges } from "../codegen/moduleEdges";
import type { Buffer } from "../codegen/program";
import { type DType, dtypeByteSize } from "../graph/tensor";
import { writeFileAtomic } from "../util/atomicWrite";
import { validatePrefix as checkPrefix } from "./modulePrefix";
import { SIMD_LEVELS, levelSource, levelWrapperSource, simdLevel, simdReadmeSection } from "./simdLevels";
import { type ModuleTemplate, moduleTemplate } from "./templates/index";
import { type LevelUnit, type ModuleLayout, type ModuleProjectOptions, ModuleProjectError, type ProjectFile, type TensorBytes } from "./templates/template";

// Writes the out-of-tree kernel module project around a compiled model. The compiler drops `NAME.h` and the FP
// units (`NAME.c`) into the same directory; this adds Kbuild, Makefile, the module main, the helper headers and a
// README, rendered from the template's folder and kmod/templates/common/ (templates/index.ts is the registry), and
// one wrapper unit per FP unit and SIMD level.

export { type LevelUnit, type ModuleLayout, type ModuleProjectOptions, ModuleProjectError, type ModuleTemplate, type TensorBytes };
export { TCP_PREFIX_MAX } from "./templates/tcp";

/** What a template needs beyond the model: the app template's default application. */
export interface TemplateOptions {
	app?: string;
}

/** Every project has these, rendered from kmod/templates/common/. */
const COMMON_FILES: readonly ProjectFile[] = [
	{ source: "templates/common/Kbuild.in", target: "Kbuild" },
	{ source: "templates/common/Makefile.in", target: "Makefile" },
	{ source: "templates/common/knn_bits.h", target: "knn_bits.h" },
	{ source: "templates/common/knn_tensors.h.in", target: "knn_tensors.h" },
	{ source: "templates/common/knn_fpu.h.in", target: "knn_fpu.h" },
];

const MODEL_FILE_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*\.c$/;
/** Keeps the tensor tables and per-file buffers far from anything kmalloc or a u32 offset cannot hold. */
const MAX_TENSOR_BYTES = 1 << 30;

// x86 kernels forbid FP/SIMD everywhere; 6.1 has no CC_FLAGS_FPU, so each FP unit swaps the flags itself.
const NO_FPU_FLAGS = "-mno-sse -mno-sse2 -mno-mmx -mno-3dnow -mno-avx -mno-80387 -mno-fp-ret-in-387 -mgeneral-regs-only -msoft-float";
const FPU_NOTE = "# The kernel's flags forbid FP/SIMD and 6.1 has no CC_FLAGS_FPU, so every FP unit\n# swaps them for its SIMD level's own. Its code runs only inside kernel_fpu_begin/end;\n# the module main calls the level it picked at load (simd= parameter).";
const NO_FPU_NOTE = "# An integer-only model (knn compile --no-fpu): every unit keeps the kernel's no-FPU flags.";

export { cString };

/** Throws PrefixError unless the prefix is a C identifier no keyword, kernel name or template name can capture. */
export function validatePrefix(prefix: string): void {
	checkPrefix(prefix);
}

export function moduleLayout(prefix: string, modelFiles: readonly string[], noFpu = false): ModuleLayout {
	validatePrefix(prefix);
	const moduleName = prefix;
	const modelObjects = modelFiles.map((file) => file.replace(/\.c$/, ".o"));
	const levelUnits = noFpu ? [] : modelFiles.flatMap((modelFile) => SIMD_LEVELS.map(({ level }) => {
		const source = levelSource(modelFile, level);
		return { level, modelFile, source, object: source.replace(/\.c$/, ".o") };
	}));
	return {
		moduleName,
		koFile: `${moduleName}.ko`,
		mainSource: `${moduleName}_main.c`,
		plainObjects: [`${moduleName}_main.o`, ...(noFpu ? modelObjects : [])],
		fpObjects: levelUnits.map((unit) => unit.object),
		levelUnits,
	};
}

/** The `kmod/` folder (templates/ and runtime/), found from the source tree (tsx) and from `dist/` (bundle) alike. */
export function findTemplateDir(start: string = __dirname): string {
	for (let dir = path.resolve(start); ; dir = path.dirname(dir)) {
		if (fs.existsSync(path.join(dir, "kmod", "templates", "common", "Kbuild.in"))) return path.join(dir, "kmod");
		if (path.dirname(dir) === dir) {
			throw new ModuleProjectError(`Kernel NN's module templates (kmod/templates/common/Kbuild.in) are missing from ${start} and every folder above it: `
				+ "reinstall the extension or restore kmod/ in the checkout.");
		}
	}
}

/**
 * Writes a compiled model's files and the module project around it into `dir`: the one "compile, then write the
 * project" step of knn compile, deploy and the VS Code build. Tensor sizes are the program's own (element type
 * included), and an integer-only model gets the no-FPU project.
 */
export function writeCompiledModule(dir: string, model: CompiledModel, template: ModuleTemplate, templateOptions: TemplateOptions = {}): string[] {
	assertModuleEdges(model.program);
	fs.mkdirSync(dir, { recursive: true });
	for (const file of model.files) writeFileAtomic(path.join(dir, file.name), file.text);
	const tensors = (buffers: Buffer[], names: string[]) => buffers.map((buffer, i) => ({ name: names[i], bytes: bufferBytes(buffer), dtype: buffer.dtype }));
	return writeModuleProject(dir, {
		prefix: model.prefix, template, app: templateOptions.app, modelFiles: [`${model.prefix}_model.c`], noFpu: model.noFpu !== undefined,
		arguments: tensors(model.program.arguments, model.program.argumentNames),
		results: tensors(model.program.results, model.program.resultNames),
	});
}

/**
 * Writes the module project into `dir` (each file atomically) and returns the paths written. Naming: module
 * `NAME.ko` from `NAME_main.o` (this project's main) and one object per model FP unit and SIMD level.
 */
export function writeModuleProject(dir: string, options: ModuleProjectOptions): string[] {
	const { prefix } = options;
	const template = moduleTemplate(options.template);
	const layout = moduleLayout(prefix, options.modelFiles, options.noFpu);
	validateModelFiles(options.modelFiles, layout);
	validateTensors("argument", options.arguments);
	validateTensors("result", options.results);
	template.validate(options);

	const sum = (tensors: TensorBytes[]) => tensors.reduce((total, t) => total + t.bytes, 0);
	const values: Record<string, string> = {
		NAME: prefix,
		MODULE: layout.moduleName,
		TEMPLATE: template.name,
		FP_OBJECTS: [...layout.plainObjects.slice(1), ...layout.fpObjects].join(" "),
		FP_FLAGS: options.noFpu ? NO_FPU_NOTE : [FPU_NOTE, ...layout.levelUnits.map((unit) => `CFLAGS_REMOVE_${unit.object} += ${NO_FPU_FLAGS}\n`
			+ `CFLAGS_${unit.object} += ${simdLevel(unit.level).flags.join(" ")}`)].join("\n"),
		NO_FPU: options.noFpu ? "1" : "0",
		FP_SOURCES: options.modelFiles.map((f) => `\`${f}\``).join(", "),
		FP_UNITS: options.noFpu ? "integer only, built with the kernel's own no-FPU flags"
			: `its FP units, built once per SIMD level through ${layout.levelUnits.map((unit) => `\`${unit.source}\``).join(", ")}`,
		SIMD_SECTION: simdReadmeSection(prefix, options.modelFiles, options.noFpu === true),
		ARGUMENT_TABLE: tensorTable(options.arguments),
		RESULT_TABLE: tensorTable(options.results),
		ARGUMENT_BYTES: String(sum(options.arguments)),
		RESULT_BYTES: String(sum(options.results)),
		TENSOR_TABLE: markdownTensorTable(options),
		MAKEFILE_CHECKS: "",
		...template.values(options),
	};

	const kmod = findTemplateDir();
	const files = [...COMMON_FILES, ...template.files(layout)];
	// Read and render everything before writing anything, so a broken template leaves no half project behind.
	const texts = files.map((file) => {
		const source = path.join(kmod, file.source);
		if (!fs.existsSync(source)) {
			throw new ModuleProjectError(`The ${template.name} template needs ${source}, which is missing: reinstall the extension or restore kmod/ in the checkout.`);
		}
		return file.verbatim ? fs.readFileSync(source, "utf8") : render(source, values);
	});
	fs.mkdirSync(dir, { recursive: true });
	const rendered = files.map((file, i) => {
		const target = path.join(dir, file.target);
		writeFileAtomic(target, texts[i]);
		return target;
	});
	const wrappers = layout.levelUnits.map((unit) => {
		const file = path.join(dir, unit.source);
		writeFileAtomic(file, levelWrapperSource(prefix, unit.modelFile, unit.level));
		return file;
	});
	return [...rendered, ...wrappers];
}

/** A template's text with every @KEY@ replaced; a key without a value is an error naming the template. */
export function render(templateFile: string, values: Record<string, string>): string {
	return fs.readFileSync(templateFile, "utf8").replace(/@([A-Z_]+)@/g, (_match, key: string) => {
		const value = values[key];
		if (value === undefined) throw new ModuleProjectError(`The module template ${templateFile} uses @${key}@, which Kernel NN does not define.`);
		return value;
	});
}

function validateModelFiles(files: readonly string[], layout: ModuleLayout): void {
	if (files.length === 0) throw new ModuleProjectError("The module project needs the model's FP unit (e.g. NAME.c) in modelFiles.");
	const reserved = new Set([layout.mainSource, `${layout.moduleName}.c`, ...layout.levelUnits.map((unit) => unit.source)]);
	const seen = new Set<string>();
	for (const file of files) {
		if (!MODEL_FILE_PATTERN.test(file)) {
			throw new ModuleProjectError(`The model file ${JSON.stringify(file)} must be a plain C file name in the project directory (a C identifier + ".c").`);
		}
		if (reserved.has(file)) throw new ModuleProjectError(`The model file ${file} would clash with the module's own ${layout.moduleName}.ko objects: rename it.`);
		if (seen.has(file)) throw new ModuleProjectError(`The model file ${file} is listed twice in modelFiles.`);
		seen.add(file);
	}
}

function validateTensors(kind: string, tensors: readonly TensorBytes[]): void {
	if (tensors.length === 0) throw new ModuleProjectError(`The model has no ${kind}s; a kernel module needs at least one ${kind}.`);
	let total = 0;
	tensors.forEach((tensor, index) => {
		if (!Number.isSafeInteger(tensor.bytes) || tensor.bytes <= 0) {
			throw new ModuleProjectError(`${kind} ${index} (${JSON.stringify(tensor.name)}) has ${tensor.bytes} bytes; every tensor needs a positive whole number of bytes.`);
		}
		total += tensor.bytes;
	});
	if (total > MAX_TENSOR_BYTES) throw new ModuleProjectError(`The model's ${kind}s hold ${total} bytes, more than the module's limit of ${MAX_TENSOR_BYTES}.`);
}

/** knn_tensors.h's enum knn_element for each dtype the self-test prints as numbers. */
const KNN_ELEMENT: Partial<Record<DType, string>> = {
	float32: "KNN_ELEMENT_FLOAT32", int8: "KNN_ELEMENT_INT8", uint8: "KNN_ELEMENT_UINT8", bool: "KNN_ELEMENT_UINT8",
	int16: "KNN_ELEMENT_INT16", uint16: "KNN_ELEMENT_UINT16", int32: "KNN_ELEMENT_INT32", uint32: "KNN_ELEMENT_UINT32",
};

function tensorTable(tensors: readonly TensorBytes[]): string {
	return tensors.map((t) => `\t{ ${cString(t.name)}, ${t.bytes}, ${KNN_ELEMENT[t.dtype ?? "float32"] ?? "KNN_ELEMENT_RAW"} },`).join("\n");
}

function markdownTensorTable(options: ModuleProjectOptions): string {
	const rows = ["| | index | name | bytes | type | elements |", "|---|---|---|---|---|---|"];
	for (const [kind, tensors] of [["argument", options.arguments], ["result", options.results]] as const) {
		tensors.forEach((t, i) => {
			const dtype = t.dtype ?? "float32";
			rows.push(`| ${kind} | ${i} | ${markdownText(t.name)} | ${t.bytes} | ${dtype} | ${Math.floor(t.bytes / Math.max(1, dtypeByteSize(dtype)))} |`);
		});
	}
	return rows.join("\n");
}

function markdownText(text: string): string {
	return text.replace(/[\r\n]+/g, " ").replace(/[\\`*_{}[\]()#+\-.!|<>~]/g, (c) => `\\${c}`);
}
