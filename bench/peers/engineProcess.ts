// One running engine (engineMain.c's command loop): kept alive across interleaved timing rounds, so a round times
// calls only, never process start-up or model loading.
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import type { EngineBuild } from "./engines";

export class EngineProcess {
	private readonly child: ChildProcessWithoutNullStreams;
	private readonly lines: string[] = [];
	private pending = "";
	private stderr = "";
	private exited?: string;
	private wake?: () => void;

	/** `cpu`: the one CPU to run on (through taskset), so every engine meets the same core. */
	constructor(readonly build: EngineBuild, inputs: Float32Array[], cpu?: number) {
		this.child = cpu === undefined
			? spawn(build.binary, build.args, { stdio: "pipe" })
			: spawn("taskset", ["-c", String(cpu), build.binary, ...build.args], { stdio: "pipe" });
		this.child.stdout.setEncoding("utf8");
		this.child.stdout.on("data", (chunk: string) => {
			const parts = (this.pending + chunk).split("\n");
			this.pending = parts.pop() ?? "";
			this.lines.push(...parts);
			this.wake?.();
		});
		this.child.stderr.on("data", (chunk: Buffer) => (this.stderr += chunk.toString()));
		this.child.on("error", (error) => this.stop(error.message));
		this.child.on("exit", (code, signal) => this.stop(`exited with ${signal ?? `status ${code}`}`));
		const words = inputs.flatMap((data) => Array.from(new Uint32Array(Float32Array.from(data).buffer), (w) => w.toString(16)));
		this.child.stdin.write(`${words.join(" ")}\n`);
	}

	private stop(why: string): void {
		this.exited ??= why;
		this.wake?.();
	}

	private async line(): Promise<string> {
		while (this.lines.length === 0) {
			if (this.exited) throw new Error(`${this.build.label} (${this.build.binary}) ${this.exited}${this.stderr ? `: ${this.stderr.trim()}` : ""}`);
			await new Promise<void>((resolve) => (this.wake = resolve));
			this.wake = undefined;
		}
		return this.lines.shift() as string;
	}

	/** Runs once and returns every output's values. */
	async outputs(): Promise<Float32Array[]> {
		this.child.stdin.write("out\n");
		const outputs: Float32Array[] = [];
		for (let text = await this.line(); text !== "end"; text = await this.line()) {
			const [, index, ...hex] = text.split(" ");
			outputs[Number(index)] = new Float32Array(Uint32Array.from(hex, (h) => parseInt(h, 16)).buffer);
		}
		return outputs;
	}

	/** Mean nanoseconds per call over `calls` back-to-back calls. */
	async time(calls: number): Promise<number> {
		this.child.stdin.write(`time ${calls}\n`);
		const text = await this.line();
		const ns = Number(text.split(" ")[1]);
		if (!text.startsWith("ns ") || !Number.isFinite(ns)) throw new Error(`${this.build.label}: expected "ns NUMBER", got "${text}"`);
		return ns;
	}

	close(): void {
		this.child.stdin.end();
	}
}
