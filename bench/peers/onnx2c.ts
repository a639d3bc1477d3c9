// onnx2c, built once from ../shared/peers/onnx2c-src.tar.gz into a cache folder outside the repository.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { SHARED_DIR } from "../../test/support/shared";

export const BENCH_CACHE = path.join(os.homedir(), ".cache", "kernelnn-bench");
const TARBALL = path.join(SHARED_DIR, "peers", "onnx2c-src.tar.gz");
const SOURCE = path.join(BENCH_CACHE, "onnx2c");
const BUILD = path.join(BENCH_CACHE, "onnx2c-build");
const APT_LINE = "apt-get install -y cmake protobuf-compiler libprotobuf-dev g++";

function runs(command: string, args: string[]): boolean {
	try {
		execFileSync(command, args, { stdio: "pipe" });
		return true;
	} catch {
		return false;
	}
}

/** The onnx2c binary, building it on first use (about 2 minutes on 2 cores); else why it cannot be had. */
export function onnx2cBinary(): { binary: string } | { reason: string } {
	const binary = path.join(BUILD, "onnx2c");
	if (fs.existsSync(binary)) return { binary };
	if (!fs.existsSync(TARBALL)) return { reason: `its sources are absent (expected ${TARBALL})` };
	const missing = [["cmake", "--version"], ["protoc", "--version"], ["g++", "--version"]].filter(([tool, flag]) => !runs(tool, [flag])).map(([tool]) => tool);
	if (!fs.existsSync("/usr/include/google/protobuf/message.h")) missing.push("the protobuf headers");
	if (missing.length > 0) return { reason: `building it needs ${missing.join(", ")}: ${APT_LINE}` };
	fs.mkdirSync(BENCH_CACHE, { recursive: true });
	if (!fs.existsSync(path.join(SOURCE, "CMakeLists.txt"))) execFileSync("tar", ["xzf", TARBALL, "-C", BENCH_CACHE]);
	console.log(`building onnx2c once into ${BUILD} (about 2 minutes)...`);
	try {
		execFileSync("cmake", ["-S", SOURCE, "-B", BUILD, "-DCMAKE_BUILD_TYPE=Release"], { stdio: "pipe" });
		execFileSync("make", ["-C", BUILD, `-j${os.availableParallelism()}`, "onnx2c"], { stdio: "pipe" });
	} catch (error) {
		const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim().split("\n").slice(-5).join("\n") ?? "";
		return { reason: `its build in ${BUILD} failed:\n${stderr}` };
	}
	return fs.existsSync(binary) ? { binary } : { reason: `its build finished without ${binary}` };
}
