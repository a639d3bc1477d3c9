// knn quantize: post-training int8 quantization of any model Kernel NN reads, written as a .tflite file.
import { parseArgs } from "node:util";
import { writeTflite } from "../core/frontends/tflite/write";
import { configFeeds } from "../core/frontends/tf/tf2xlaConfig";
import { loadConfigured } from "../core/model/prepare";
import { readCalibration } from "../core/quant/calibrate";
import { type CalibrationReport, quantizeModel } from "../core/quant/quantize";
import { planToTflite } from "../core/quant/toTflite";
import { writeFileAtomic } from "../core/util/atomicWrite";
import { UsageError } from "./exitStatus";
import { printJson, printOut } from "./output";

const QUANTIZE_USAGE = `knn quantize MODEL --config graph.config.pbtxt --calibration DATA.npy|INPUTS.json --out MODEL_int8.tflite
             [--per-channel] [--checkpoint PREFIX] [--json]

Quantizes a float model (TF, ONNX or TFLite) to an int8 TFLite file with float32 inputs and outputs that any TFLite
runtime runs, and prints the calibration report: each output's mean and max abs error against the float model on
the calibration data, and each activation's observed and chosen range.
DATA is a .npy array (one row per sample, for a model with one feed) or an inputs.json whose "feedsPerStep"
  entries are the samples (feeds an entry leaves out come from "feeds").
--per-channel gives each output channel of a weight its own scale.
Ranges are searched and biases corrected by running each candidate file through Kernel NN's TFLite front end and
  integer interpreter. A channels-first (ONNX) model's rank-4 inputs become channels-last in the file, as TFLite
  computes; the report says so.`;

export function quantize(args: string[]): number {
	const { values, positionals } = parseArgs({
		args, allowPositionals: true,
		options: {
			config: { type: "string" }, calibration: { type: "string" }, out: { type: "string" }, checkpoint: { type: "string" },
			"per-channel": { type: "boolean" }, json: { type: "boolean" }, help: { type: "boolean", short: "h" },
		},
	});
	if (values.help) {
		printOut(QUANTIZE_USAGE);
		return 0;
	}
	const modelPath = positionals[0];
	if (!modelPath || !values.config || !values.calibration || !values.out) {
		throw new UsageError(`knn quantize needs MODEL, --config graph.config.pbtxt, --calibration DATA.npy|INPUTS.json and --out MODEL_int8.tflite\n\n${QUANTIZE_USAGE}`);
	}
	const { graph, parsed } = loadConfigured(modelPath, values.config, values.checkpoint);
	const samples = readCalibration(values.calibration, configFeeds(graph, parsed.config));
	const { plan, report } = quantizeModel(graph, parsed.config, samples, { perChannel: values["per-channel"] ?? false });
	writeFileAtomic(values.out, writeTflite(planToTflite(plan, `int8 post-training quantization of ${modelPath} by knn quantize`)));
	if (values.json) printJson(JSON.stringify(report));
	else printOut(formatReport(report, values.out));
	return 0;
}

function formatReport(report: CalibrationReport, out: string): string {
	const lines = [`${out}: int8, ${report.perChannel ? "per-channel" : "per-tensor"} weights, calibrated on ${report.samples} samples`];
	for (const input of report.inputs.filter((i) => i.channelsFirst)) {
		lines.push(`  input ${input.name} is channels-last [${input.shape.join(",")}] as TFLite computes (the model's is [${input.channelsFirst!.join(",")}]): feed it transposed`);
	}
	lines.push(`  mean abs error over the calibration data: ${report.meanAbsError.toExponential(3)} (plain min/max calibration: ${report.minMaxMeanAbsError.toExponential(3)})`);
	for (const o of report.outputs) lines.push(`  output ${o.name}: mean abs error ${o.meanAbsError.toExponential(3)}, max ${o.maxAbsError.toExponential(3)}, one step ${o.step.toExponential(3)}`);
	for (const t of report.tensors) {
		lines.push(`  tensor ${t.name}: observed [${t.observed.map((v) => v.toPrecision(4)).join(", ")}], chosen [${t.chosen.map((v) => v.toPrecision(4)).join(", ")}], scale ${t.scale.toPrecision(4)}, zero point ${t.zeroPoint}`);
	}
	return lines.join("\n");
}
