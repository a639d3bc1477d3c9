import * as os from "node:os";
import * as path from "node:path";

/** Where built runtime modules and the channel tool are kept between commands (per kernel release below it). */
export function runtimeCacheDir(): string {
	return path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), ".cache"), "kernel-nn", "runtime");
}
