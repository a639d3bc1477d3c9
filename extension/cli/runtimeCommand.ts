import { parseArgs } from "node:util";
import { activateModel, formatStatus, rollbackApp, runtimeStatus, streamChannel } from "../core/runtime/client";
import { runtimeCacheDir } from "../core/runtime/cacheDir";
import { installRuntime } from "../core/runtime/install";
import type { ChannelLine } from "../core/runtime/types";
import { UsageError } from "./exitStatus";
import { printErr, printJson, printOut } from "./output";
import { TARGET_OPTIONS, openCliTarget } from "./targetCommands";

export const RUNTIME_USAGE = `  knn runtime install --target T [--kdir DIR]
  knn runtime status --target T [--app A] [--json]
  knn runtime activate --target T --app A [--model ID]
  knn runtime rollback --target T --app A
  knn runtime stream --target T [--app A] [--json] [--seconds S]
             (install builds and loads knn_core with the tcp and netfilter applications; deploy a model into an
             application with knn deploy ... --app tcp|netfilter|NAME --keep)`;

const APP_NAME = /^[A-Za-z0-9_]{1,31}$/;

function appOf(value: string | undefined, required: boolean): string | undefined {
	if (value === undefined) {
		if (required) throw new UsageError(`this command needs --app A (tcp, netfilter or an application you created)\n${RUNTIME_USAGE}`);
		return undefined;
	}
	if (!APP_NAME.test(value)) throw new UsageError(`--app must be 1 to 31 letters, digits or underscores, not ${JSON.stringify(value)}`);
	return value;
}

function modelIdOf(value: string | undefined): number | undefined {
	if (value === undefined) return undefined;
	if (!/^[1-9]\d{0,9}$/.test(value) || Number(value) > 0xffffffff) throw new UsageError(`--model must be a model id from knn runtime status (a whole number above 0), not ${JSON.stringify(value)}`);
	return Number(value);
}

/** A channel line for people: one event or record per line, names already escaped by printOut. */
export function formatChannelLine(line: ChannelLine): string {
	switch (line.kind) {
		case "event":
			return `${new Date(line.timeMs).toISOString()} ${line.app}: ${line.event}${line.reason !== "none" ? ` (${line.reason})` : ""} model ${line.fromId} -> ${line.toId}${line.message ? `: ${line.message}` : ""}`;
		case "dropped":
			return `${line.app}: ${line.count < 0 ? "the receive buffer overflowed; records were lost" : `${line.count} records lost in the kernel (batch buffer full)`}`;
		case "record":
			return `${line.app} #${line.seq} model ${line.modelId} ${line.latencyNs} ns in [${line.input.map(short).join(" ")}] out [${line.output.map(short).join(" ")}]`;
	}
}

function short(value: number): string {
	return Number.isInteger(value) ? String(value) : value.toPrecision(4);
}

export async function runtimeCommand(args: string[]): Promise<number> {
	const [sub, ...rest] = args;
	const { values } = parseArgs({
		args: rest,
		options: {
			...TARGET_OPTIONS, app: { type: "string" }, model: { type: "string" }, json: { type: "boolean" }, kdir: { type: "string" },
			seconds: { type: "string" },
		},
	});
	if (!sub || !["install", "status", "activate", "rollback", "stream"].includes(sub)) {
		throw new UsageError(`knn runtime needs install, status, activate, rollback or stream${sub ? `, not ${JSON.stringify(sub)}` : ""}\n${RUNTIME_USAGE}`);
	}
	if (!values.target) throw new UsageError(`knn runtime ${sub} needs --target\n${RUNTIME_USAGE}`);
	const app = appOf(values.app, sub === "activate" || sub === "rollback");
	const modelId = modelIdOf(values.model);
	const seconds = values.seconds === undefined ? undefined : Number(values.seconds);
	if (seconds !== undefined && !(seconds > 0 && seconds <= 86_400)) throw new UsageError(`--seconds must be above 0 and at most 86400, not ${JSON.stringify(values.seconds)}`);
	const { target } = openCliTarget(values.target, values);
	const controller = new AbortController();
	const abort = () => controller.abort();
	process.once("SIGINT", abort);
	process.once("SIGTERM", abort);
	try {
		switch (sub) {
			case "install": {
				const report = await installRuntime(target, { kdir: values.kdir, cacheDir: runtimeCacheDir(), signal: controller.signal, onLine: (line) => printErr(line) });
				if (values.json) printJson(JSON.stringify(report));
				else printOut(`knn_core installed on ${target.description} (${report.kernelRelease}): ${report.modules.map((m) => m.name).join(", ")} loaded; channel tool ${report.toolPath}`);
				return 0;
			}
			case "status": {
				const apps = await runtimeStatus(target, { app, signal: controller.signal });
				if (values.json) printJson(JSON.stringify(apps));
				else printOut(formatStatus(apps));
				return 0;
			}
			case "activate":
				await activateModel(target, app as string, modelId, controller.signal);
				printErr(`${app}: model ${modelId ?? "in the standby slot"} is active on ${target.description}`);
				return 0;
			case "rollback":
				await rollbackApp(target, app as string, controller.signal);
				printErr(`${app}: rolled back to the previous model on ${target.description}`);
				return 0;
			default: {
				if (seconds !== undefined) setTimeout(abort, seconds * 1000).unref();
				await streamChannel(target, {
					app, signal: controller.signal,
					onLine: (line) => (values.json ? printJson(JSON.stringify(line)) : printOut(formatChannelLine(line))),
				});
				return 0;
			}
		}
	} finally {
		process.removeListener("SIGINT", abort);
		process.removeListener("SIGTERM", abort);
		await target.close();
	}
}
