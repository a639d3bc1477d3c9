import * as fs from "node:fs";
import { parseInputsJson } from "../core/model/inputsJson";
import { StepInputError, type StepInputs, parseStepInputs } from "../core/model/steps";

/** Reads an inputs.json for knn run and knn deploy; a file that cannot be read or parsed is a StepInputError naming it. */
export function readInputsFile(file: string): StepInputs {
	let text: string;
	try {
		text = fs.readFileSync(file, "utf8");
	} catch (error) {
		throw new StepInputError(`${file}: cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)}); give the path of an inputs.json`, { cause: error });
	}
	let value: unknown;
	try {
		value = parseInputsJson(text, file);
	} catch (error) {
		if (!(error instanceof SyntaxError)) throw error;
		throw new StepInputError(`${file}: not valid JSON (${error.message})`, { cause: error });
	}
	return parseStepInputs(value, file);
}
